import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module.js';
import { AuthorizationModule } from '../authorization/authorization.module.js';
import { DeliveryModule } from '../delivery/delivery.module.js';
import { MessagesModule } from '../messages/messages.module.js';
import { PresenceModule } from '../presence/presence.module.js';
import { GracefulShutdown } from './graceful-shutdown.service.js';
import { HandshakeService } from './handshake.service.js';
import { HeartbeatService } from './heartbeat.service.js';
import { RealtimeGateway } from './realtime.gateway.js';
import { SocketSessionsService } from './socket-sessions.service.js';
import { WsPermissionGuard } from './ws-permission.guard.js';

@Module({
  imports: [AuthModule, AuthorizationModule, DeliveryModule, MessagesModule, PresenceModule],
  providers: [HandshakeService, SocketSessionsService, WsPermissionGuard, HeartbeatService, GracefulShutdown, RealtimeGateway],
  exports: [GracefulShutdown],
})
export class GatewayModule {}
