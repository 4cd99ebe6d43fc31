/// crmd's version, shown by `server.ping` and `--version`.
public let crmdVersion = "0.1.0"
