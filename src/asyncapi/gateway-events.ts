import type { Type } from '@nestjs/common';
import { MetadataScanner } from '@nestjs/core';
import { MESSAGE_MAPPING_METADATA, MESSAGE_METADATA, PARAM_ARGS_METADATA } from '@nestjs/websockets/constants.js';
import { WsParamtype } from '@nestjs/websockets/enums/ws-paramtype.enum.js';
import type { Permission } from '../authorization/permissions.js';
import { REQUIRED_PERMISSIONS } from '../authorization/require-permission.decorator.js';
import { ALLOW_UNAUTHENTICATED, REPLY_DATA } from '../gateway/gateway.decorators.js';
import type { SchemaClass } from './json-schemas.js';

/** One event a gateway handles, as its decorators declare it. */
export interface GatewayEvent {
  event: string;
  /** The DTO class its `data` is validated with; none when the handler reads no `data`. */
  data?: SchemaClass;
  /** The class that describes its reply's `data` (`@ReplyData`). */
  reply: SchemaClass;
  /** Any one of them, in the room the frame names (`@RequirePermission`); empty: none needed. */
  permissions: Permission[];
  /** Accepted before the socket has authenticated (`@AllowUnauthenticated`). */
  beforeAuthentication: boolean;
}

/** Reads the events of a gateway class from the metadata Nest dispatches and guards them by. */
export function gatewayEvents(gateway: Type): GatewayEvent[] {
  const prototype = gateway.prototype as Record<string, (...args: unknown[]) => unknown>;
  return new MetadataScanner().getAllMethodNames(prototype).flatMap((method) => {
    const handler = prototype[method];
    if (!Reflect.getMetadata(MESSAGE_MAPPING_METADATA, handler)) return [];
    const event = Reflect.getMetadata(MESSAGE_METADATA, handler) as string;
    const reply = Reflect.getMetadata(REPLY_DATA, handler) as SchemaClass | undefined;
    if (!reply) throw new Error(`${gateway.name}.${method} (${event}) declares no @ReplyData`);
    return [
      {
        event,
        data: payloadType(gateway, method),
        reply,
        permissions: (Reflect.getMetadata(REQUIRED_PERMISSIONS, handler) as Permission[] | undefined) ?? [],
        beforeAuthentication: Reflect.getMetadata(ALLOW_UNAUTHENTICATED, handler) === true,
      },
    ];
  });
}

/** The declared type of the handler's `@MessageBody()` (`@FrameData()`) parameter. */
function payloadType(gateway: Type, method: string): SchemaClass | undefined {
  const parameters = (Reflect.getMetadata(PARAM_ARGS_METADATA, gateway, method) ?? {}) as Record<string, { index: number }>;
  const body = Object.entries(parameters).find(([key]) => key.startsWith(`${WsParamtype.PAYLOAD}:`));
  if (!body) return undefined;
  const types = Reflect.getMetadata('design:paramtypes', gateway.prototype, method) as SchemaClass[];
  return types[body[1].index];
}
