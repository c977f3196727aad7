import { validate } from 'class-validator';
import { SendMessageDto } from '../messages/dto/message.dto.js';

async function textErrors(values: Partial<SendMessageDto>): Promise<Record<string, string | undefined>> {
  const dto = Object.assign(new SendMessageDto(), { room: 'general', clientMsgId: 'c1', ...values });
  const errors = await validate(dto);
  return Object.fromEntries(errors.map((error) => [error.property, error.constraints?.text]));
}

describe('IsText', () => {
  it('says a string with a lone surrogate is not well-formed, rather than asking for its length again', async () => {
    expect(await textErrors({ text: 'a\uD800b' })).toEqual({ text: 'text must be well-formed Unicode: it has a lone surrogate (half of a UTF-16 pair)' });
    expect(await textErrors({ text: 'ok', clientMsgId: '\uDC00' })).toEqual({
      clientMsgId: 'clientMsgId must be well-formed Unicode: it has a lone surrogate (half of a UTF-16 pair)',
    });
  });

  it('keeps the length rule for other refusals, and takes surrogate pairs', async () => {
    expect(await textErrors({ text: '' })).toEqual({ text: 'text must be a string of 1 to 4000 characters without NUL' });
    expect(await textErrors({ text: 'a\u0000b' })).toEqual({ text: 'text must be a string of 1 to 4000 characters without NUL' });
    expect(await textErrors({ text: '😀'.repeat(4000) })).toEqual({});
  });
});

describe('IsPayload', () => {
  async function payloadError(json: string): Promise<string | undefined> {
    const dto = Object.assign(new SendMessageDto(), { room: 'general', clientMsgId: 'c1', payload: JSON.parse(json) as unknown });
    return (await validate(dto)).find((error) => error.property === 'payload')?.constraints?.payload;
  }

  it('refuses a number JSON.parse reads as Infinity, which would be stored as null', async () => {
    const refusal = 'payload must hold only finite numbers: NaN, Infinity or a number beyond a double (such as 1e400) would be stored as null';
    expect(await payloadError('{"x":1e400}')).toBe(refusal);
    expect(await payloadError('{"quotes":[{"bid":1.2},{"bid":-1e999}]}')).toBe(refusal);
  });

  it('refuses NaN and Infinity from host code, which JSON would carry as null', async () => {
    const dto = Object.assign(new SendMessageDto(), { room: 'general', clientMsgId: 'c1', payload: { ratio: 0 / 0, rate: 1 / 0 } });
    expect((await validate(dto)).find((error) => error.property === 'payload')?.constraints?.payload).toMatch(/^payload must hold only finite numbers/);
  });

  it('refuses a Number object holding NaN, which JSON writes as its value', async () => {
    const dto = Object.assign(new SendMessageDto(), { room: 'general', clientMsgId: 'c1', payload: { ratio: Object(Number.NaN) as number } });
    expect((await validate(dto)).find((error) => error.property === 'payload')?.constraints?.payload).toMatch(/^payload must hold only finite numbers/);
  });

  it("looks at a host object as JSON does, after its toJSON", async () => {
    const payload = { quote: { bid: 1.2, internal: Number.NaN, toJSON: () => ({ bid: 1.2 }) } };
    const dto = Object.assign(new SendMessageDto(), { room: 'general', clientMsgId: 'c1', payload });
    expect((await validate(dto)).find((error) => error.property === 'payload')).toBeUndefined();
  });

  it('takes any finite number, however large', async () => {
    expect(await payloadError('{"x":1.7976931348623157e308,"y":-5e-324,"z":12345678901234567890}')).toBeUndefined();
  });
});
