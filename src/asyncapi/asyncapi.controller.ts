import { Controller, Get, NotFoundException } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { AsyncApiService } from './asyncapi.service.js';

const ASYNCAPI_PATH = 'asyncapi.json';

/** `GET /asyncapi.json`: public, like the OpenAPI document at `/docs`. */
@Controller()
@ApiExcludeController()
export class AsyncApiController {
  constructor(private readonly asyncApi: AsyncApiService) {}

  @Get(ASYNCAPI_PATH)
  document() {
    // Switched off, the route answers as if it did not exist.
    if (!this.asyncApi.document) throw new NotFoundException(`Cannot GET /${ASYNCAPI_PATH}`);
    return this.asyncApi.document;
  }
}
