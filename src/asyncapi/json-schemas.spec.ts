import 'reflect-metadata';
import { Type } from 'class-transformer';
import { IsInt, IsISO8601, IsString, Max, Min, ValidateNested } from 'class-validator';
import { HasContent, IsPayload, IsRoomName, IsText, Optional } from '../protocol/validators.js';
import { schemasOf } from './json-schemas.js';

class Tag {
  @IsString() label!: string;
}

class Author {
  @IsText(1, 32) name!: string;
}

@HasContent()
class Post {
  @IsRoomName() room!: string;
  @IsInt() @Min(1) @Max(10) rank!: number;
  @Optional() @IsText(2, 50) text?: string;
  @Optional() @IsPayload() payload?: Record<string, unknown>;
  @ValidateNested() author!: Author;
  @ValidateNested({ each: true }) @Type(() => Tag) tags!: Tag[];
  @IsISO8601() at!: string;
}

/** A new class named Twin at each call. */
function twin() {
  class Twin {
    @IsString() value!: string;
  }
  return Twin;
}

describe('schemasOf', () => {
  const schemas = schemasOf([Post]);

  it('converts the custom validators of the protocol', () => {
    expect(schemas.Post!.properties).toMatchObject({
      room: { type: 'string', minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9._:-]{1,128}$' },
      text: { type: 'string', minLength: 2, maxLength: 50, pattern: '^[^\\u0000]*$' },
      payload: { type: 'object' },
      rank: { type: 'integer', minimum: 1, maximum: 10 },
      at: { type: 'string', format: 'date-time' },
    });
  });

  it('requires what is not optional and keeps class-level rules', () => {
    expect(schemas.Post!.required).toEqual(['room', 'rank', 'author', 'tags', 'at']);
    expect(schemas.Post!.anyOf).toEqual([{ required: ['text'] }, { required: ['payload'] }]);
  });

  it('refers to nested classes, one by one and in arrays, and converts them too', () => {
    expect(schemas.Post!.properties!.author).toEqual({ $ref: '#/components/schemas/Author' });
    expect(schemas.Post!.properties!.tags).toEqual({ type: 'array', items: { $ref: '#/components/schemas/Tag' } });
    expect(Object.keys(schemas).sort()).toEqual(['Author', 'Post', 'Tag']);
    expect(schemas.Author!.properties!.name).toMatchObject({ maxLength: 32 });
  });

  it('refuses two classes of one name, whose schemas would overwrite each other', () => {
    expect(() => schemasOf([twin(), twin()])).toThrow('two classes named Twin');
  });
});
