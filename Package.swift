// swift-tools-version: 6.2
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "crmd",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "crmd", targets: ["crmd"]),
        .executable(name: "crmctl", targets: ["crmctl"]),
        .executable(name: "crm-bench", targets: ["crm-bench"]),
        .executable(name: "crm-crash", targets: ["crm-crash"]),
        .library(name: "CRMClient", targets: ["CRMClient"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-configuration", from: "1.4.0", traits: ["YAML"]),
        // Already used by swift-configuration's YAML provider; crmd reads the file's keys with it
        // to reject misspelt settings instead of silently ignoring them.
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        // FilePath for swift-configuration's file provider (its own dependency, named here because
        // crmd imports it).
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        // SHA-256 of deal attachments (checked on upload; crmctl computes it before sending).
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        // CSV for crmctl's `--csv` report output (and the import and export to come).
        .package(url: "https://github.com/yaslab/CSV.swift", from: "2.5.2"),
    ],
    targets: [
        // Domain: value types and pure rules. Foundation only, no I/O.
        .target(name: "CRMCore", dependencies: ["CRMText"], swiftSettings: strict),
        // The wire contract: JSON values, JSON-RPC envelope, error codes, method names and params.
        .target(name: "CRMProtocol", dependencies: ["CRMText"], swiftSettings: strict),
        // Sentences people read, in Russian and English: templates, plurals and the catalogs a
        // translator edits (locale/*.po, built into the binaries).
        .target(name: "CRMText", resources: [.embedInCode("locale/ru.po")], swiftSettings: strict),
        // ThreadSanitizer annotations (no-ops in a normal build) and the lock that uses them.
        .target(name: "CTSan"),
        .target(name: "CRMSync", dependencies: ["CTSan"], swiftSettings: strict),
        // Checks on files and folders another local user could plant (private folders, the live
        // database's files), shared by the store, the server and the client, and how a file's size
        // reads to people. Foundation only.
        .target(name: "CRMFiles", swiftSettings: strict),
        // Persistence: GRDB migrations, the store facade, group commit, event log.
        .target(
            name: "CRMStore",
            dependencies: [
                "CRMCore", "CRMSync", "CRMFiles", "CRMText", .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ],
            swiftSettings: strict
        ),
        // crmd's line framing (a line buffer with a size cap), apart so the fuzz target links only
        // it and the protocol, not the whole server.
        .target(name: "CRMFraming", swiftSettings: strict),
        // libsystemd (Debian's libsystemd-dev): sd_notify, sd_listen_fds_with_names, sd_journal_sendv.
        .systemLibrary(name: "CSystemd", providers: [.apt(["libsystemd-dev"])]),
        // The daemon: socket listener, framing, peer credentials, dispatcher, settings.
        .target(
            name: "CRMServer",
            dependencies: [
                "CRMCore", "CRMProtocol", "CRMStore", "CRMSync", "CSystemd", "CRMFraming", "CRMFiles", "CRMMail", "CRMText",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strict
        ),
        // crmctl's CSV import: a streaming RFC 4180 reader with line numbers (UTF-8 or
        // Windows-1251) and the header-to-field mapping, apart so unit tests reach them.
        .target(name: "CRMCSV", dependencies: ["CRMProtocol"], swiftSettings: strict),
        // Incoming mail (issue 22): RFC 5322 headers, RFC 2047 encoded words, MIME parts,
        // quoted-printable/base64 and the Russian charsets (KOI8-R, Windows-1251). Foundation only.
        .target(name: "CRMMail", swiftSettings: strict),
        // A small blocking client over the Unix socket, for crmctl, crm-bench and scripts in Swift.
        .target(name: "CRMClient", dependencies: ["CRMProtocol", "CRMFiles", "CRMText"], swiftSettings: strict),
        // Test helpers: a TestDaemon that starts the real crmd binary on a temporary folder.
        .target(name: "CRMTestSupport", dependencies: ["CRMClient", "CRMProtocol"], swiftSettings: strict),
        .executableTarget(
            name: "crmd",
            dependencies: [
                "CRMServer", "CRMProtocol",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "crmctl",
            dependencies: [
                "CRMClient", "CRMProtocol", "CRMFiles", "CRMCSV", "CRMText", "CRMSync",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CSV", package: "CSV.swift"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "crm-bench",
            dependencies: [
                "CRMClient", "CRMProtocol", "CRMTestSupport", "CRMStore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                // Plain GRDB for the raw group-commit phase (the same SQL with no daemon).
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: strict
        ),
        // The crash-safety test: SIGKILL under load, restart, check (docs/reliability.md).
        .executableTarget(
            name: "crm-crash",
            dependencies: ["CRMTestSupport", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: strict
        ),
        // libFuzzer target for framing and request decoding; a stub unless built by scripts/fuzz.sh.
        .executableTarget(
            name: "crm-fuzz",
            dependencies: [
                "CRMFraming", "CRMProtocol",
            ],
            swiftSettings: strict
        ),
        .testTarget(name: "CRMCoreTests", dependencies: ["CRMCore"], swiftSettings: strict),
        .testTarget(name: "CRMTextTests", dependencies: ["CRMText"], swiftSettings: strict),
        .testTarget(name: "CRMProtocolTests", dependencies: ["CRMProtocol", "CRMText"], swiftSettings: strict),
        .testTarget(name: "CRMMailTests", dependencies: ["CRMMail"], swiftSettings: strict),
        .testTarget(name: "CRMCSVTests", dependencies: ["CRMCSV", "CRMProtocol"], swiftSettings: strict),
        .testTarget(
            name: "CRMStoreTests",
            dependencies: ["CRMStore", "CRMCore", "CRMSync", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: strict
        ),
        .testTarget(
            name: "CRMServerTests",
            dependencies: [
                "CRMServer", "CRMCore", "CRMStore", "CRMProtocol", .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "IntegrationTests",
            dependencies: ["CRMTestSupport", "CRMClient", "CRMProtocol", "CRMCore", "CRMSync"],
            swiftSettings: strict
        ),
    ]
)
