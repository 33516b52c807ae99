import { Injectable, type NestMiddleware, UnsupportedMediaTypeException } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** `application/json`, or a JSON-based type such as `application/merge-patch+json`, with any parameters. */
const JSON_TYPE = /^application\/([\w.-]+\+)?json\s*(;|$)/i;

/**
 * Refuses a request body that is not JSON with 415, naming the content type it came with. Without it, Nest's
 * JSON parser leaves such a body unread and the request would be refused for what it seemed to lack
 * (`amount: ... got undefined`), although the client sent it, only in another format.
 */
@Injectable()
export class JsonBodiesOnly implements NestMiddleware {
  use(request: IncomingMessage, _response: ServerResponse, next: (error?: unknown) => void): void {
    const type = request.headers['content-type'];
    const length = request.headers['content-length'];
    const hasBody =
      request.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
    if (hasBody && !JSON_TYPE.test(type ?? '')) {
      throw new UnsupportedMediaTypeException({
        statusCode: 415,
        code: 'unsupported_media_type',
        message: `the body must be JSON, sent with content-type: application/json; got content-type ${JSON.stringify(type ?? '')}`,
      });
    }
    next();
  }
}
