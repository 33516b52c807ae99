import { type ArgumentsHost, Catch, type ExceptionFilter, Inject, Logger } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { FencepostError } from '../log/errors.js';
import { httpErrorOf } from './fencepost-http-error.js';

/**
 * Opt-in exception filter: answers HTTP requests that failed with a {@link FencepostError} with the status and
 * JSON body of {@link httpErrorOf} (e.g. 412 `{ code: 'seq_num_mismatch', expectedSeqNum }`, 409 for a domain
 * error with its data, 404 for a missing aggregate). Other errors are left to Nest. Works with any HTTP
 * platform (it replies through the `HttpAdapterHost`); in non-HTTP contexts it rethrows.
 *
 * @example
 * // for the whole app, with injection:
 * @Module({ providers: [{ provide: APP_FILTER, useClass: FencepostExceptionFilter }] })
 * // or by hand:
 * app.useGlobalFilters(new FencepostExceptionFilter(app.get(HttpAdapterHost)));
 */
@Catch(FencepostError)
export class FencepostExceptionFilter implements ExceptionFilter<FencepostError> {
  readonly #adapterHost: HttpAdapterHost;
  readonly #logger = new Logger('FencepostExceptionFilter');

  constructor(@Inject(HttpAdapterHost) adapterHost: HttpAdapterHost) {
    this.#adapterHost = adapterHost;
  }

  catch(error: FencepostError, host: ArgumentsHost): void {
    if (host.getType() !== 'http') throw error;
    const { status, body } = httpErrorOf(error);
    if (status >= 500) this.#logger.error(error.message, error.stack);
    const http = this.#adapterHost.httpAdapter;
    http.reply(host.switchToHttp().getResponse(), body, status);
  }
}
