import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module.js';
import { AuthorizationModule } from '../authorization/authorization.module.js';
import { DeliveryModule } from '../delivery/delivery.module.js';
import { GatewayModule } from '../gateway/gateway.module.js';
import { MessagesModule } from '../messages/messages.module.js';
import { FallbackRequestBudgetGuard, FallbackRequestBudgets } from '../request-budgets/request-budgets.js';
import { RoomsModule } from '../rooms/rooms.module.js';
import { EventStreamsService } from './event-streams.service.js';
import { HttpFallbackController } from './http-fallback.controller.js';
import { LongPollService } from './long-poll.service.js';

/** REST, Server-Sent Events and long polling for clients whose network blocks WebSockets. */
@Module({
  imports: [AuthModule, AuthorizationModule, RoomsModule, MessagesModule, DeliveryModule, GatewayModule],
  controllers: [HttpFallbackController],
  providers: [EventStreamsService, LongPollService, FallbackRequestBudgets, FallbackRequestBudgetGuard],
})
export class FallbackModule {}
