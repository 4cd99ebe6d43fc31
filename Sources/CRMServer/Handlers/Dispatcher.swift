import CRMCore
public import CRMProtocol
import CRMStore
import Foundation
import Logging

/// Turns a decoded request into a reply: resolves who is calling, checks the request id, and
/// hands the call to the handler group of its topic (`Handlers/`). One exhaustive switch names
/// the handler of every method.
public final class Dispatcher: Sendable {
    /// A reply for one request; called exactly once, possibly from the commit thread.
    public typealias Reply = @Sendable (Result<JSON, RPCError>) -> Void

    let context: ServerContext
    var identity: Identity { context.identity }
    var logger: Logger { context.logger }
    private let server: ServerHandlers
    private let backup: BackupHandlers
    private let users: UserHandlers
    private let clients: ClientHandlers
    private let imports: ImportHandlers
    private let recordImports: RecordImports
    private let contacts: ContactHandlers
    private let interactions: InteractionHandlers
    private let exchange: ExchangeHandlers
    private let alerts: AlertHandlers
    private let reports: ReportHandlers
    private let clockHandlers: ClockHandlers
    private let deals: DealHandlers
    private let tasks: TaskHandlers
    private let attachments: AttachmentHandlers
    private let pipelines: PipelineHandlers
    private let plans: PlanHandlers
    private let invoices: InvoiceHandlers
    private let salesReports: SalesReportHandlers
    private let activityReports: ActivityReportHandlers
    private let channels: ChannelHandlers
    private let calls: CallHandlers
    private let pbx: PBXCallHandlers
    private let mail: MailHandlers
    private let classes: ClassHandlers
    private let segments: SegmentHandlers
    private let holds: HoldHandlers
    private let requests: RequestHandlers
    private let notify: NotifyHandlers

    /// A dispatcher over the shared parts; `engine` runs the scheduler and the deliverer to
    /// completion for `clock.*` (nil: no engine runs, as in tests of planning alone).
    public init(context: ServerContext, engine: EngineRunner? = nil) {
        self.context = context
        server = ServerHandlers(context: context)
        backup = BackupHandlers(context: context)
        users = UserHandlers(context: context)
        clients = ClientHandlers(context: context)
        imports = ImportHandlers(context: context)
        recordImports = RecordImports(context: context)
        contacts = ContactHandlers(context: context)
        interactions = InteractionHandlers(context: context)
        exchange = ExchangeHandlers(context: context)
        alerts = AlertHandlers(context: context)
        reports = ReportHandlers(context: context)
        clockHandlers = ClockHandlers(context: context, runner: engine)
        deals = DealHandlers(context: context)
        tasks = TaskHandlers(context: context)
        attachments = AttachmentHandlers(context: context)
        pipelines = PipelineHandlers(context: context)
        plans = PlanHandlers(context: context)
        invoices = InvoiceHandlers(context: context)
        salesReports = SalesReportHandlers(context: context)
        activityReports = ActivityReportHandlers(context: context)
        channels = ChannelHandlers(context: context)
        calls = CallHandlers(context: context)
        pbx = PBXCallHandlers(context: context)
        mail = MailHandlers(context: context)
        classes = ClassHandlers(context: context)
        segments = SegmentHandlers(context: context)
        holds = HoldHandlers(context: context)
        requests = RequestHandlers(context: context)
        notify = NotifyHandlers(context: context)
    }

    /// A connection closed: what it held (backup copies) is let go.
    func connectionClosed(_ session: Session) {
        backup.connectionClosed(session)
    }

    // MARK: dispatch

    /// Handles one request. Notifications (no id) are handled the same; the caller drops the reply.
    func handle(_ request: Request, session: Session, reply: @escaping Reply) {
        context.stats.request()
        let reply = loggingReply(request, session: session, reply)
        // session.act_as stays open to the real user, so a connection acting as someone who was
        // deactivated can go back to itself.
        let resolved = request.method == Method.sessionActAs.rawValue ? identity.realActor(for: session) : identity.actor(for: session)
        guard let actor = resolved else {
            reply(.failure(identity.notAUser(session)))
            return
        }
        guard let method = Method(rawValue: request.method) else {
            reply(.failure(.methodNotFound(request.method)))
            return
        }
        var params = request.params
        var requestID: String? = nil
        if method.isWrite, case .object(var o) = params, let rid = o["request_id"] {
            guard case .string(let s) = rid, !s.isEmpty, s.utf8.count <= 200 else {
                reply(
                    .failure(
                        .invalidParams([FieldProblem(field: "request_id", problem: "must be a non-empty string of at most 200 bytes")])))
                return
            }
            requestID = s
            o["request_id"] = nil
            params = .object(o)
        }
        let call = Call(actor: actor, session: session, params: params, requestID: requestID, method: method, reply: reply)
        do {
            switch method {
            case .serverPing: reply(.success(["pong": true, "version": .string(crmdVersion)]))
            case .serverStatus: try server.serverStatus(call)
            case .serverBackup: try backup.serverBackup(call)
            case .serverBackupRead: try backup.serverBackupRead(call)
            case .whoami: try server.whoami(call)
            case .sessionActAs: try server.sessionActAs(call)
            case .userAdd: try users.userAdd(call)
            case .userList: try users.userList(call)
            case .userUpdate: try users.userUpdate(call)
            case .userDeactivate: try users.userDeactivate(call)
            case .clientCreate: try clients.clientCreate(call)
            case .clientGet: try clients.clientGet(call)
            case .clientUpdate: try clients.clientUpdate(call)
            case .clientList: try clients.clientList(call)
            case .clientFindByPhone: try clients.clientFindByPhone(call)
            case .clientAssign: try clients.clientAssign(call)
            case .clientImport: try imports.clientImport(call)
            case .contactImport: try recordImports.contactImport(call)
            case .interactionImport: try recordImports.interactionImport(call)
            case .dealImport: try recordImports.dealImport(call)
            case .clientHistory: try clients.clientHistory(call)
            case .interactionLog: try interactions.interactionLog(call)
            case .interactionList: try interactions.interactionList(call)
            case .contactCreate: try contacts.contactCreate(call)
            case .contactGet: try contacts.contactGet(call)
            case .contactUpdate: try contacts.contactUpdate(call)
            case .contactList: try contacts.contactList(call)
            case .contactMove: try contacts.contactMove(call)
            case .clientRelease: try exchange.clientRelease(call)
            case .clientExplain: try exchange.clientExplain(call)
            case .exchangeList: try exchange.exchangeList(call)
            case .exchangeClaim: try exchange.exchangeClaim(call)
            case .exchangePreview: try exchange.exchangePreview(call)
            case .subscribe, .unsubscribe:
                // Subscriptions belong to a connection; the connection handler answers these.
                throw RPCError(code: ErrorCode.invalidRequest, message: "\(method.rawValue) works only on a socket connection.")
            case .alertList: try alerts.alertList(call)
            case .alertAck: try alerts.alertAck(call)
            case .reportZones: try reports.reportZones(call)
            case .clockAdvance, .clockSet: try clockHandlers.clockMove(call)
            case .pipelineList: try pipelines.pipelineList(call)
            case .pipelineBoard: try pipelines.pipelineBoard(call)
            case .today: try pipelines.today(call)
            case .dealCreate: try deals.dealCreate(call)
            case .dealGet: try deals.dealGet(call)
            case .dealUpdate: try deals.dealUpdate(call)
            case .dealList: try deals.dealList(call)
            case .dealMove: try deals.dealMove(call)
            case .dealClose: try deals.dealClose(call)
            case .dealReopen: try deals.dealReopen(call)
            case .dealAttach: try attachments.dealAttach(call)
            case .dealAttachWrite: try attachments.dealAttachWrite(call)
            case .dealAttachmentRead: try attachments.dealAttachmentRead(call)
            case .taskCreate: try tasks.taskCreate(call)
            case .taskList: try tasks.taskList(call)
            case .taskUpdate: try tasks.taskUpdate(call)
            case .taskDone: try tasks.taskDone(call)
            case .planSet: try plans.planSet(call)
            case .planGet: try plans.planGet(call)
            case .planList: try plans.planList(call)
            case .planProgress: try plans.planProgress(call)
            case .reportPlan: try plans.reportPlan(call)
            case .reportActivity: try activityReports.reportActivity(call)
            case .invoiceCreate: try invoices.invoiceCreate(call)
            case .invoicePay: try invoices.invoicePay(call)
            case .invoiceList: try invoices.invoiceList(call)
            case .reportCommission: try salesReports.reportCommission(call)
            case .reportFunnel: try salesReports.reportFunnel(call)
            case .reportSales: try salesReports.reportSales(call)
            case .reportCompleteness: try salesReports.reportCompleteness(call)
            case .channelCreate: try channels.channelCreate(call)
            case .channelList: try channels.channelList(call)
            case .channelUpdate: try channels.channelUpdate(call)
            case .channelSpend: try channels.channelSpend(call)
            case .callIncoming: try calls.callIncoming(call)
            case .mailIngest: try mail.mailIngest(call)
            case .callEnded: try pbx.callEnded(call)
            case .callImport: try pbx.callImport(call)
            case .reportChannels: try calls.reportChannels(call)
            case .abcCompute: try classes.abcCompute(call)
            case .segmentCreate: try segments.segmentCreate(call)
            case .segmentList: try segments.segmentList(call)
            case .segmentGet: try segments.segmentGet(call)
            case .segmentUpdate: try segments.segmentUpdate(call)
            case .segmentDelete: try segments.segmentDelete(call)
            case .segmentMembers: try segments.segmentMembers(call)
            case .segmentStats: try segments.segmentStats(call)
            case .segmentMailing: try segments.segmentMailing(call)
            case .clientFreeze: try holds.clientFreeze(call)
            case .clientFreezeDecide: try holds.clientFreezeDecide(call)
            case .clientLock: try holds.clientLock(call)
            case .exchangeRequest: try exchange.exchangeRequest(call)
            case .reportExchange: try exchange.reportExchange(call)
            case .exchangeSimulate: try exchange.exchangeSimulate(call)
            case .requestCreate: try requests.requestCreate(call)
            case .requestList: try requests.requestList(call)
            case .requestTake: try requests.requestTake(call)
            case .requestAssign: try requests.requestAssign(call)
            case .requestClose: try requests.requestClose(call)
            case .notificationList: try notify.notificationList(call)
            }
        } catch {
            reply(.failure(rpcError(error, method: method, logger: logger)))
        }
    }
}

/// Maps any failure to a wire error; unknown failures are logged and reported as internal.
func rpcError(_ error: any Error, method: Method, logger: Logger) -> RPCError {
    if let e = error as? RPCError { return e }
    if let e = error as? DomainError { return e.rpc }
    if let message = storageFailureMessage(error) {
        logger.error("storage failure", metadata: ["method": "\(method.rawValue)", "error": "\(error)"])
        return RPCError(code: ErrorCode.internalError, message: message, data: ["reason": "storage"])
    }
    logger.error("internal error", metadata: ["method": "\(method.rawValue)", "error": "\(error)"])
    return RPCError(
        code: ErrorCode.internalError,
        message: "Internal error in \(method.rawValue); it was logged. Retry, and report it if it persists.")
}

/// Runs the scheduler and the alert delivery to completion, as a reference: a bare closure in a
/// generic lock grows a thunk chain at every read (see CRMStore's `CommitHook`).
public final class EngineRunner: Sendable {
    let run: @Sendable () async throws -> Int

    /// The scheduler's pass, then the deliverer's: the events they recorded.
    init(scheduler: Scheduler, deliverer: AlertDeliverer) {
        run = {
            let n = try await scheduler.runDue()
            return n + (try await deliverer.runDue())
        }
    }
}
