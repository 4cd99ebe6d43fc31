extension Migrations {
    /// The language a user reads crmd's messages and alerts in (`ru`, `en`); NULL: their
    /// client's locale, else the server's `language` setting.
    static let v13 = """
        ALTER TABLE users ADD COLUMN lang TEXT CHECK (lang IN ('ru', 'en'));
        """
}
