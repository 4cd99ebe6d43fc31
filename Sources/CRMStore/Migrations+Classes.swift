extension Migrations {
    /// ABC/XYZ classes (issue 19): the client's XYZ class beside its ABC class (both computed
    /// from won revenue, `clients.abc` was set by hand before), an index for lists filtered by
    /// class and for the computation's read of the current classes, the history of a client's
    /// classes per month, and one row per computed month.
    static let v9 = """
        ALTER TABLE clients ADD COLUMN xyz TEXT;
        CREATE INDEX clients_class ON clients(abc, xyz, id) WHERE abc IS NOT NULL;

        CREATE TABLE client_classes(
          client_id INTEGER NOT NULL,
          month TEXT NOT NULL,
          abc TEXT NOT NULL,
          xyz TEXT NOT NULL,
          revenue INTEGER NOT NULL,
          cv_bp INTEGER NOT NULL,
          PRIMARY KEY(client_id, month)) WITHOUT ROWID;

        CREATE TABLE class_runs(
          month TEXT PRIMARY KEY,
          started_at INTEGER NOT NULL,
          finished_at INTEGER NOT NULL,
          by_login TEXT NOT NULL,
          window_from INTEGER NOT NULL,
          window_to INTEGER NOT NULL,
          currency TEXT NOT NULL,
          clients INTEGER NOT NULL,
          counts TEXT NOT NULL,
          changed INTEGER NOT NULL,
          took_ms INTEGER NOT NULL) WITHOUT ROWID;
        """
}
