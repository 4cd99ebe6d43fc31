extension Migrations {
    /// The phones and e-mails of a contact, found by the contact: creating or saving a contact
    /// first deletes its old ones (`WHERE contact_id = ?`), which without these indexes scanned
    /// every contact's phones, so an import of a million clients with a contact each slowed down
    /// with every row (issue 19; docs/architecture.md, "Import and export").
    static let v11 = """
        CREATE INDEX phones_contact ON phones(contact_id) WHERE contact_id IS NOT NULL;
        CREATE INDEX emails_contact ON emails(contact_id) WHERE contact_id IS NOT NULL;
        """
}
