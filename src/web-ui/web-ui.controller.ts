import { Controller, Get, Inject } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';

export const WEB_UI_SETTINGS = Symbol('webUi.settings');

/** What the chat page needs to know about the server it is served by. */
export interface WebUiSettings {
  /** The WebSocket path (WS_PATH). */
  wsPath: string;
  /** Whether `POST /dev/token` exists (DEV_TOKENS). */
  devTokens: boolean;
}

@Controller('web-ui')
@ApiExcludeController()
export class WebUiController {
  constructor(@Inject(WEB_UI_SETTINGS) private readonly settings: WebUiSettings) {}

  @Get('settings')
  get(): WebUiSettings {
    return this.settings;
  }
}
