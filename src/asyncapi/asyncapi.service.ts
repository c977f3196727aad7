import { Inject, Injectable } from '@nestjs/common';
import { RealtimeGateway } from '../gateway/realtime.gateway.js';
import { REALTIME_OPTIONS, type ResolvedRealtimeOptions } from '../realtime-options.js';
import { buildAsyncApiDocument, type AsyncApiDocument } from './asyncapi-document.js';
import { gatewayEvents } from './gateway-events.js';

/** The AsyncAPI document of this server's WebSocket protocol, built once at start (it depends only on the code and the options). */
@Injectable()
export class AsyncApiService {
  /** Null when the module's `asyncApi` option is off. */
  readonly document: AsyncApiDocument | null;

  constructor(@Inject(REALTIME_OPTIONS) options: ResolvedRealtimeOptions) {
    this.document = options.asyncApi ? buildAsyncApiDocument(gatewayEvents(RealtimeGateway), options) : null;
  }
}
