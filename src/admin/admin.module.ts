import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module.js';
import { AuthModule } from '../auth/auth.module.js';
import { AuthorizationModule } from '../authorization/authorization.module.js';
import { DeliveryModule } from '../delivery/delivery.module.js';
import { GatewayModule } from '../gateway/gateway.module.js';
import { MessagesModule } from '../messages/messages.module.js';
import { AdminRequestBudgetGuard, AdminRequestBudgets } from '../request-budgets/request-budgets.js';
import { RoomsModule } from '../rooms/rooms.module.js';
import { AuditController } from './audit.controller.js';
import { RolesController } from './roles.controller.js';
import { RoomsController } from './rooms.controller.js';
import { UsersController } from './users.controller.js';

/** The `/admin` REST API: thin controllers over the services of the other modules. */
@Module({
  imports: [AuthModule, AuthorizationModule, RoomsModule, MessagesModule, DeliveryModule, AuditModule, GatewayModule],
  controllers: [RolesController, UsersController, RoomsController, AuditController],
  providers: [AdminRequestBudgets, AdminRequestBudgetGuard],
})
export class AdminModule {}
