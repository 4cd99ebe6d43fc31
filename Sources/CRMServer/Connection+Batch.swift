import CRMProtocol
import Foundation

/// Batches: their items answered in order, as one array; every size a peer chooses is bounded.
extension ClientConnection {
    /// Answers a batch (a line holding an array): its replies join ``out`` as one line.
    func handle(batch items: [JSON], session: Session) {
        if items.isEmpty {
            append(
                Response.failure(
                    id: .null, error: RPCError(code: ErrorCode.invalidRequest, message: "An empty batch is not a request.")))
            return
        }
        // Every size a peer chooses is bounded: the items, and the reply built in memory (5,000
        // `client.list` items in one line once took crmd to 11 GB).
        if items.count > settings.maxBatchItems {
            append(
                Response.failure(
                    id: .null,
                    error: RPCError(
                        code: ErrorCode.invalidRequest,
                        message:
                            "A batch of \(items.count) requests is more than \(settings.maxBatchItems) (protocol.max_batch_items); nothing was run. Send it in smaller batches.",
                        data: [
                            "reason": "batch_too_large", "limit": .int(Int64(settings.maxBatchItems)),
                            "items": .int(Int64(items.count)),
                        ])))
            services.logger.warning(
                "refused a batch over protocol.max_batch_items",
                metadata: ["items": "\(items.count)", "limit": "\(settings.maxBatchItems)", "uid": "\(session.uid)"])
            return
        }
        var batch: [UInt8] = [UInt8(ascii: "[")]
        var answered = 0
        var skipped = 0
        // The memory the batch's replies take, from the buffer budget (given back once sent):
        // past it, or past max_batch_reply_bytes, the remaining items are not run.
        var stop: BatchStop? = nil
        var batchHeld = 0
        for item in items {
            if stop == nil, batch.count > settings.maxBatchReplyBytes { stop = .replyBytes }
            // The first 64 KiB are the connection's own; past them, all of it is taken.
            if stop == nil, batch.capacity > batchHeld + Self.flushBytes {
                let more = batch.capacity - batchHeld
                if buffers.take(more) {
                    batchHeld += more
                } else {
                    stop = .budget(buffers.refusal ?? .total(limit: settings.maxBufferedBytes))
                }
            }
            // A reply joins the batch's (nil: a notification, which gets none).
            func put(_ reply: JSON?) {
                guard let reply else { return }
                if answered > 0 { batch.append(UInt8(ascii: ",")) }
                JSONWriter.write(reply, into: &batch)
                answered += 1
            }
            if let stop {
                // Not run, so no work permit is waited for.
                put(batchReplyLimit(item, stop))
                skipped += 1
            } else {
                withWorkPermit { put(answer(item, session: session)) }
            }
        }
        if skipped > 0, let stop {
            services.logger.warning(
                "a batch's replies passed a bound; the rest was not run",
                metadata: [
                    "skipped": "\(skipped)", "bound": "\(stop.kind)", "limit": "\(stop.limit(settings))", "uid": "\(session.uid)",
                ])
        }
        if answered > 0 {
            batch.append(UInt8(ascii: "]"))
            out.append(contentsOf: batch)
            out.append(UInt8(ascii: "\n"))
        }
        // What the batch took stays held until its reply is sent (``flush``).
        unsentHeld += batchHeld
    }

    /// Why a batch's remaining items are not run.
    private enum BatchStop {
        /// Its replies passed `protocol.max_batch_reply_bytes`.
        case replyBytes
        /// Its replies would pass the buffer budget (``BufferBudget``).
        case budget(BufferBudget.Exceeded)

        var kind: String {
            switch self {
            case .replyBytes: return "batch_reply_bytes"
            case .budget(let e): return e.name
            }
        }

        func limit(_ settings: Settings) -> Int {
            switch self {
            case .replyBytes: return settings.maxBatchReplyBytes
            case .budget(let e): return e.limit
            }
        }
    }

    /// The reply to a batch item that is not run because the batch's replies already passed a
    /// bound (nil for a notification, which gets none).
    private func batchReplyLimit(_ item: JSON, _ stop: BatchStop) -> JSON? {
        switch Request.decode(item) {
        case .failure(let f): return Response.failure(id: f.id, error: f.error)
        case .success(let r):
            guard let id = r.id else { return nil }
            let limit = stop.limit(settings)
            let message: String
            switch stop {
            case .replyBytes:
                message =
                    "Not run: this batch's replies passed \(limit) bytes (protocol.max_batch_reply_bytes). Send this request again, in a smaller batch or alone."
            case .budget(let e):
                message =
                    "Not run: this batch's replies would pass \(e.explanation). Send this request again once the replies before it are read, or in a smaller batch."
            }
            return Response.failure(
                id: id,
                error: RPCError(
                    code: ErrorCode.limitReached, message: message,
                    data: ["reason": "limit_reached", "limit": .int(Int64(limit)), "kind": .string(stop.kind)]))
        }
    }
}
