import ArgumentParser
import CRMProtocol

struct RPC: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: tr("Call any method with JSON params and print the JSON result."),
        discussion: tr("Example: \("crmctl rpc client.list '{\"zone\":\"red\"}'")"))
    @OptionGroup var global: GlobalOptions
    @Argument(help: .tr("The method, e.g. client.get.")) var method: String
    @Argument(help: .tr("Params as a JSON object.")) var params: String = "{}"

    func run() throws {
        let parsed: JSON
        do {
            parsed = try JSONParser.parse(params)
        } catch {
            throw ValidationError(tr("params are not valid JSON: \(error)"))
        }
        guard case .object(let o) = parsed else { throw ValidationError(tr("params must be a JSON object")) }
        try global.run(method, o) { r in print(JSONWriter.string(r)) }
    }
}
