import { InterceptingCall, status, type Interceptor } from '@grpc/grpc-js';

/**
 * The gRPC calls of one etcd client still waiting for their answer. Closing an etcd3
 * client lets its calls in flight run to their deadline, and grpc keeps their connection,
 * and so the process, alive until then: an interrupted run against a member that had
 * stopped answering waited for the CLI's 3 s watchdog. `close` cancels them first, so the
 * connection goes at once.
 */
export class CallsInFlight {
  private readonly calls = new Set<InterceptingCall>();
  private ended = false;

  /** For every call's options: records the call until its status comes back. */
  readonly interceptor: Interceptor = (options, nextCall) => {
    const call: InterceptingCall = new InterceptingCall(nextCall(options), {
      start: (metadata, _listener, next) =>
        next(metadata, {
          onReceiveStatus: (callStatus, passOn) => {
            this.calls.delete(call);
            passOn(callStatus);
          },
        }),
    });
    this.calls.add(call);
    return call;
  };

  /** Whether `close` was called: a failure after it is the cancellation, never tried again. */
  get closed(): boolean {
    return this.ended;
  }

  /** Cancels every call still out; each fails with CANCELLED and `details`. */
  close(details: string): void {
    this.ended = true;
    const calls = [...this.calls];
    this.calls.clear();
    for (const call of calls) call.cancelWithStatus(status.CANCELLED, details);
  }
}
