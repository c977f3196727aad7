import { Global, Module } from '@nestjs/common';
import { HostEvents } from './host-events.service.js';

@Global()
@Module({ providers: [HostEvents], exports: [HostEvents] })
export class EventsModule {}
