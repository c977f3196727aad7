import { Module } from '@nestjs/common';
import { AsyncApiController } from './asyncapi.controller.js';
import { AsyncApiService } from './asyncapi.service.js';

/** The generated AsyncAPI 3.0 document of the WebSocket protocol, at `GET /asyncapi.json`. */
@Module({
  controllers: [AsyncApiController],
  providers: [AsyncApiService],
})
export class AsyncApiModule {}
