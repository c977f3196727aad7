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
