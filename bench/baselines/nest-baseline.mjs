/**
 * What the two Nest baselines share: decorating a plain-JavaScript gateway
 * class (`join` and `publish` handlers taking the body and the socket) and
 * starting it in a minimal Nest app with a health route for the benchmark.
 */
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ConnectedSocket, MessageBody, SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';

export async function startNestBaseline(Gateway, { gatewayOptions, createAdapter, defaultPort }) {
  for (const method of ['join', 'publish']) {
    const descriptor = Object.getOwnPropertyDescriptor(Gateway.prototype, method);
    MessageBody()(Gateway.prototype, method, 0);
    ConnectedSocket()(Gateway.prototype, method, 1);
    Reflect.defineMetadata('design:paramtypes', [Object, Object], Gateway.prototype, method);
    SubscribeMessage(method)(Gateway.prototype, method, descriptor);
  }
  WebSocketGateway(gatewayOptions)(Gateway);

  class AppModule {}
  Module({ providers: [Gateway] })(AppModule);

  const app = await NestFactory.create(AppModule, { logger: ['error'] });
  app.useWebSocketAdapter(createAdapter(app));
  app.getHttpAdapter().get('/health/live', (_request, response) => response.status(200).end());
  app.enableShutdownHooks();
  await app.listen(Number(process.env.PORT ?? defaultPort), process.env.HOST ?? '127.0.0.1');
}
