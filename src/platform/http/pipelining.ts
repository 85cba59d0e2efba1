// HTTP/1.1 pipelining (RFC 9112 §9.3.2): a server may process pipelined requests in parallel only if they all have
// safe methods, and must answer them in order. Node answers in order but hands every request of a pipeline to the
// application at once, so a purchase and what a client pipelined behind it (its retry with the same key, a read of
// the wallet, a purchase that needs its gems) ran concurrently. Node gives a response its socket only once the
// responses ahead of it on the connection are finished; until then the request waits here, so the requests of one
// connection run one after the other. A request with nothing ahead of it (every request that is not pipelined)
// goes straight on: one property read.
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';

export function awaitPipelinedPredecessors(_request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
  if (reply.raw.socket !== null) return done();
  // Never emitted when the connection closes first: the request is then dropped unprocessed, as its client is gone.
  reply.raw.once('socket', () => done());
}
