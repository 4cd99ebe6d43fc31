import CRMCore
import CRMText
import Configuration
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

extension Settings {
    /// The `notify.*` settings (docs/rules.md, "Telling the client"): the command, the stages, the
    /// department's phone and the templates' folder. A template file with an unknown placeholder
    /// stops crmd (or a reload), naming the file and the line.
    mutating func applyNotify(_ r: ConfigReader, configFile: String?) throws {
        func text(_ key: String) -> String? {
            guard let v = r.string(forKey: ConfigKey(key))?.trimmingCharacters(in: .whitespaces), !v.isEmpty else { return nil }
            return v
        }
        if let cmd = text("notify.delivery_command") { notifyCommand = cmd }
        if let p = text("notify.phone") {
            guard
                let phone = Phone.normalize(p, defaultCountryCode: domain.defaultCountryCode, nationalLength: domain.nationalNumberLength)
            else {
                throw SettingsError(key: "notify.phone", problem: "'\(p.prefix(40))' is not a phone number like +7 495 123-45-67")
            }
            domain.notify.phone = phone
        }
        let stages: [String]? =
            r.stringArray(forKey: "notify.stages") ?? text("notify.stages").map { $0.split(separator: ",").map(String.init) }
        if let stages {
            let names = stages.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            if names.map({ $0.lowercased() }) != ["none"] {
                let known = Set(domain.deals.pipelines.flatMap { $0.stages.map(\.name) })
                for n in names where !known.contains(n) {
                    throw SettingsError(
                        key: "notify.stages",
                        problem: "'\(n.prefix(60))' is not a stage of any pipeline (\(known.sorted().joined(separator: ", ")))")
                }
                domain.notify.stages = Set(names)
            }
        }
        if let folder = text("notify.templates") {
            let base =
                configFile.map { URL(fileURLWithPath: $0).deletingLastPathComponent().path } ?? FileManager.default.currentDirectoryPath
            domain.notify.templates = try Self.notifyTemplates(folder: folder.hasPrefix("/") ? folder : base + "/" + folder)
        }
    }

    /// The built-in templates with those the folder holds in their place (`request_taken.ru.txt`,
    /// `deal_stage.en.txt`, …); a file the folder lacks keeps the built-in one.
    static func notifyTemplates(folder: String) throws -> NotifyTemplates {
        var set = NotifyTemplates.builtIn
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDir), isDir.boolValue else {
            throw SettingsError(key: "notify.templates", problem: "\(folder) is not a folder")
        }
        for kind in NotifyTemplateKind.allCases {
            for lang in Lang.allCases {
                let path = "\(folder)/\(kind.rawValue).\(lang.rawValue).txt"
                guard let text = try readTemplateFile(path) else { continue }
                do {
                    set.byKey[NotifyTemplates.key(kind, lang)] = try NotifyTemplate(parsing: text)
                } catch {
                    throw SettingsError(key: "notify.templates", problem: "\(path) \(error)")
                }
            }
        }
        return set
    }

    /// A template file's text, read without following a symbolic link; nil when there is none.
    static func readTemplateFile(_ path: String) throws -> String? {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return nil }
            let why = errno == ELOOP ? "is a symbolic link, which crmd does not follow" : String(cString: strerror(errno))
            throw SettingsError(key: "notify.templates", problem: "cannot read \(path): \(why)")
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else {
            throw SettingsError(key: "notify.templates", problem: "\(path) is not a regular file")
        }
        guard Int(st.st_size) <= NotifyTemplate.maxBytes else {
            throw SettingsError(
                key: "notify.templates",
                problem: "\(path) has \(st.st_size) bytes, more than the \(NotifyTemplate.maxBytes) a template may have; shorten it")
        }
        var bytes = [UInt8](repeating: 0, count: NotifyTemplate.maxBytes + 1)
        var got = 0
        while got < bytes.count {
            let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + got, $0.count - got) }
            if n <= 0 { break }
            got += n
        }
        guard got <= NotifyTemplate.maxBytes else {
            throw SettingsError(key: "notify.templates", problem: "\(path) is larger than \(NotifyTemplate.maxBytes) bytes; shorten it")
        }
        guard let text = String(validating: bytes[0..<got], as: UTF8.self) else {
            throw SettingsError(key: "notify.templates", problem: "\(path) is not UTF-8 text")
        }
        return text
    }
}
