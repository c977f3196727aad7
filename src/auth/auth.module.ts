import { Module } from '@nestjs/common';
import { Authenticator } from './authenticator.service.js';
import { BearerAuthGuard } from './bearer-auth.guard.js';

/** Token verification; `UserResolver` comes from the root module so hosts can replace it. */
@Module({
  providers: [Authenticator, BearerAuthGuard],
  exports: [Authenticator, BearerAuthGuard],
})
export class AuthModule {}
