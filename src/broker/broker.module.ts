import { Global, Module } from '@nestjs/common';
import { Broker } from './broker.js';
import { LocalBroker } from './local-broker.js';

@Global()
@Module({
  providers: [{ provide: Broker, useClass: LocalBroker }],
  exports: [Broker],
})
export class BrokerModule {}
