import { Body, Controller, Post, UseFilters, UseGuards, UsePipes } from '@nestjs/common';
import { ApiCreatedResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { HttpErrorFilter } from '../protocol/http-error.filter.js';
import { JsonBodyGuard } from '../protocol/json-body.guard.js';
import { realtimeValidationPipe } from '../protocol/validation.pipe.js';
import { DevTokenDto, DevTokenRequestDto } from './dto/dev-token.dto.js';
import { DEV_TOKEN_TTL_SECONDS, DevTokensService } from './dev-tokens.service.js';

@Controller('dev')
@ApiTags('development')
@UseGuards(JsonBodyGuard)
@UsePipes(realtimeValidationPipe)
@UseFilters(HttpErrorFilter)
export class DevTokensController {
  constructor(private readonly devTokens: DevTokensService) {}

  @Post('token')
  @ApiOperation({
    summary: `Development only (DEV_TOKENS=true): a ${DEV_TOKEN_TTL_SECONDS / 60}-minute token for the user of this name, no password asked`,
  })
  @ApiCreatedResponse({ type: DevTokenDto })
  mint(@Body() body: DevTokenRequestDto): DevTokenDto {
    return this.devTokens.mint(body.name);
  }
}
