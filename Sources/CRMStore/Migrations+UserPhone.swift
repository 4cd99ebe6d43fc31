extension Migrations {
    /// A user's own phone (issue 22: a call forwarded to a manager's mobile, or made from it
    /// through the PBX, is that manager's when no extension says whose it is), normalized as
    /// clients' phones are and unique among users.
    static let v21 = """
        ALTER TABLE users ADD COLUMN phone TEXT;
        CREATE UNIQUE INDEX users_phone ON users(phone) WHERE phone IS NOT NULL;
        """
}
