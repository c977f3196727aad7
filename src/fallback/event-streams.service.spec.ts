import { RealtimeError } from '../protocol/error-codes.js';
import { resumePoint } from './event-streams.service.js';

describe('resumePoint', () => {
  it('prefers the Last-Event-ID header, which an EventSource sends with the URL it first opened', () => {
    expect(resumePoint('13', 1)).toBe(13);
    expect(resumePoint('0', undefined)).toBe(0);
  });

  it('falls back to since, or to nothing', () => {
    expect(resumePoint(undefined, 4)).toBe(4);
    expect(resumePoint(undefined, undefined)).toBeUndefined();
  });

  it.each(['', 'abc', '-1', '1.5', '07', ' 7', '99999999999999999'])('refuses %j with the header named in the details', (header) => {
    expect.assertions(2);
    try {
      resumePoint(header, undefined);
    } catch (error) {
      expect(error).toBeInstanceOf(RealtimeError);
      expect((error as RealtimeError).details).toEqual([expect.objectContaining({ field: 'Last-Event-ID', constraint: 'integer' })]);
    }
  });
});
