/**
 * Numbered schema migrations. The schema version is SQLite's user_version; a migration runs
 * in one transaction with its version bump, so a project is never left half-migrated.
 * Append only: never edit a migration that has shipped.
 */
export interface Migration {
  version: number;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    sql: `
      CREATE TABLE project (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        name TEXT NOT NULL,
        created_at TEXT NOT NULL,
        app_version TEXT NOT NULL,
        settings TEXT NOT NULL DEFAULT '{}'
      );
      CREATE TABLE classes (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE COLLATE NOCASE,
        color TEXT NOT NULL,
        position INTEGER NOT NULL
      );
      -- Where images were imported from. Images keep a path relative to their source's root,
      -- so a moved folder is fixed by updating one row.
      CREATE TABLE sources (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('folder', 'csv', 'files', 'zip')),
        root TEXT NOT NULL,
        description TEXT NOT NULL DEFAULT '',
        imported_at TEXT NOT NULL
      );
      CREATE TABLE images (
        id INTEGER PRIMARY KEY,
        source_id INTEGER NOT NULL REFERENCES sources(id),
        rel_path TEXT NOT NULL,
        file_name TEXT NOT NULL,
        hash TEXT NOT NULL UNIQUE,
        bytes INTEGER NOT NULL,
        width INTEGER NOT NULL,
        height INTEGER NOT NULL,
        format TEXT NOT NULL,
        split TEXT NOT NULL CHECK (split IN ('train', 'val', 'test')),
        class_id INTEGER REFERENCES classes(id) ON DELETE SET NULL,
        imported_at TEXT NOT NULL
      );
      CREATE INDEX images_class ON images(class_id, id);
      CREATE INDEX images_split ON images(split, id);
      CREATE INDEX images_name ON images(file_name);
      CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        scenario INTEGER NOT NULL CHECK (scenario BETWEEN 1 AND 4),
        model TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('running', 'succeeded', 'failed', 'cancelled')),
        config TEXT NOT NULL,
        backend TEXT,
        class_names TEXT NOT NULL,
        baseline REAL,
        best_epoch INTEGER,
        best_val_acc REAL,
        best_val_loss REAL,
        result TEXT,
        error TEXT,
        job_id TEXT,
        started_at TEXT NOT NULL,
        finished_at TEXT
      );
      CREATE TABLE run_metrics (
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        epoch INTEGER NOT NULL,
        train_loss REAL NOT NULL,
        train_acc REAL NOT NULL,
        val_loss REAL,
        val_acc REAL,
        duration_ms REAL NOT NULL,
        PRIMARY KEY (run_id, epoch)
      );
      CREATE TABLE confusion_matrices (
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        epoch INTEGER NOT NULL,
        matrix TEXT NOT NULL,
        PRIMARY KEY (run_id, epoch)
      );
      CREATE TABLE jobs (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
        done REAL NOT NULL DEFAULT 0,
        total REAL NOT NULL DEFAULT 0,
        message TEXT,
        result TEXT,
        error_code TEXT,
        error_message TEXT,
        created_at TEXT NOT NULL,
        finished_at TEXT
      );
    `,
  },
  {
    version: 2,
    // Gallery at 100,000 images: each filter + sort the gallery offers is served by an index
    // (name sort within a class or a split; class filter within a split), and per-source
    // lookups (moved folders) do not scan.
    sql: `
      CREATE INDEX images_source ON images(source_id, id);
      CREATE INDEX images_class_name ON images(class_id, file_name, id);
      CREATE INDEX images_split_name ON images(split, file_name, id);
      CREATE INDEX images_split_class ON images(split, class_id, id);
      DROP INDEX images_name;
      CREATE INDEX images_name ON images(file_name, id);
    `,
  },
  {
    version: 3,
    // A run's predictions on any image (validation, test, unlabelled): the predicted class index
    // in the run's class_names, its confidence, all probabilities (float32 blob), and the loss
    // against the image's label where it has one (for top-loss views).
    sql: `
      CREATE TABLE predictions (
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
        predicted INTEGER NOT NULL,
        confidence REAL NOT NULL,
        probabilities BLOB NOT NULL,
        loss REAL,
        PRIMARY KEY (run_id, image_id)
      );
      CREATE INDEX predictions_run_conf ON predictions(run_id, confidence);
      CREATE INDEX predictions_image ON predictions(image_id);
    `,
  },
  {
    version: 4,
    // The data audit (issue 14).
    // fingerprints: per image content (like thumbnails and cached features, so a removed and
    // re-added image keeps its own): the pHash (16 hex digits) and a small grey thumbnail for the
    // near-duplicate pixel check. Made at import; for older images by the first audit.
    // audits, audit_scores: the latest audit (a new one replaces it): per labelled image its
    // out-of-sample probabilities, given and suggested class (indexes into audits.classes, and the
    // given class's id, to tell a label fixed since), score and whether confident learning flagged it. label_confirmations: "this label is right", for
    // as long as the image keeps that class.
    // duplicate_*: the latest audit's near-duplicate clusters and the pairs that joined them.
    // embedding_maps + map_points, label_next_rankings + label_next_scores: the latest map and
    // label-next ranking. Their ids never come back (AUTOINCREMENT): an id a client holds from an
    // older audit cannot name a cluster of a newer one. removals: images removed by a leak's "keep one", with every row that
    // referenced them (JSON), so an undo puts them back as they were.
    sql: `
      CREATE TABLE fingerprints (
        hash TEXT PRIMARY KEY,
        phash TEXT NOT NULL,
        width INTEGER NOT NULL,
        height INTEGER NOT NULL,
        pixels BLOB NOT NULL
      ) WITHOUT ROWID;
      CREATE TABLE audits (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        run_id INTEGER REFERENCES runs(id) ON DELETE SET NULL,
        model TEXT NOT NULL,
        cut_layer TEXT NOT NULL,
        feature_dim INTEGER NOT NULL,
        folds INTEGER NOT NULL,
        classes TEXT NOT NULL,
        result TEXT NOT NULL,
        last_image_id INTEGER NOT NULL,
        created_at TEXT NOT NULL
      );
      CREATE TABLE audit_scores (
        audit_id INTEGER NOT NULL REFERENCES audits(id) ON DELETE CASCADE,
        image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
        given INTEGER NOT NULL,
        suggested INTEGER NOT NULL,
        given_class_id INTEGER NOT NULL,
        score REAL NOT NULL,
        self_confidence REAL NOT NULL,
        flagged INTEGER NOT NULL,
        probabilities BLOB NOT NULL,
        PRIMARY KEY (audit_id, image_id)
      ) WITHOUT ROWID;
      CREATE INDEX audit_scores_flagged ON audit_scores(audit_id, flagged, score);
      CREATE INDEX audit_scores_image ON audit_scores(image_id);
      CREATE TABLE label_confirmations (
        image_id INTEGER PRIMARY KEY REFERENCES images(id) ON DELETE CASCADE,
        class_id INTEGER NOT NULL REFERENCES classes(id) ON DELETE CASCADE,
        confirmed_at TEXT NOT NULL
      );
      CREATE TABLE duplicate_clusters (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        audit_id INTEGER NOT NULL REFERENCES audits(id) ON DELETE CASCADE
      );
      CREATE INDEX duplicate_clusters_audit ON duplicate_clusters(audit_id);
      CREATE TABLE duplicate_members (
        cluster_id INTEGER NOT NULL REFERENCES duplicate_clusters(id) ON DELETE CASCADE,
        image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
        PRIMARY KEY (cluster_id, image_id)
      ) WITHOUT ROWID;
      CREATE INDEX duplicate_members_image ON duplicate_members(image_id);
      CREATE TABLE duplicate_pairs (
        cluster_id INTEGER NOT NULL REFERENCES duplicate_clusters(id) ON DELETE CASCADE,
        a INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
        b INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
        hamming INTEGER NOT NULL,
        cosine REAL,
        pixel REAL NOT NULL,
        shifted INTEGER NOT NULL,
        PRIMARY KEY (cluster_id, a, b)
      ) WITHOUT ROWID;
      CREATE INDEX duplicate_pairs_a ON duplicate_pairs(a);
      CREATE INDEX duplicate_pairs_b ON duplicate_pairs(b);
      CREATE TABLE embedding_maps (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        run_id INTEGER REFERENCES runs(id) ON DELETE SET NULL,
        model TEXT NOT NULL,
        cut_layer TEXT NOT NULL,
        feature_dim INTEGER NOT NULL,
        result TEXT NOT NULL,
        created_at TEXT NOT NULL
      );
      CREATE TABLE map_points (
        map_id INTEGER NOT NULL REFERENCES embedding_maps(id) ON DELETE CASCADE,
        image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
        x REAL NOT NULL,
        y REAL NOT NULL,
        PRIMARY KEY (map_id, image_id)
      ) WITHOUT ROWID;
      CREATE INDEX map_points_image ON map_points(image_id);
      CREATE TABLE label_next_rankings (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        run_id INTEGER REFERENCES runs(id) ON DELETE SET NULL,
        model TEXT NOT NULL,
        cut_layer TEXT NOT NULL,
        feature_dim INTEGER NOT NULL,
        classes TEXT NOT NULL,
        result TEXT NOT NULL,
        created_at TEXT NOT NULL
      );
      CREATE TABLE label_next_scores (
        ranking_id INTEGER NOT NULL REFERENCES label_next_rankings(id) ON DELETE CASCADE,
        image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
        margin REAL NOT NULL,
        entropy REAL NOT NULL,
        density REAL NOT NULL,
        predicted INTEGER NOT NULL,
        confidence REAL NOT NULL,
        PRIMARY KEY (ranking_id, image_id)
      ) WITHOUT ROWID;
      CREATE INDEX label_next_scores_image ON label_next_scores(image_id);
      CREATE TABLE removals (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        reason TEXT NOT NULL,
        payload TEXT NOT NULL,
        created_at TEXT NOT NULL,
        undone_at TEXT
      );
    `,
  },
  {
    version: 5,
    // Test-time augmentation (issue 22): the views a prediction averaged, as a JSON array of
    // names (src/shared/tta.ts); NULL: the image alone. Read so a submission says how it was made.
    sql: `
      ALTER TABLE predictions ADD COLUMN views TEXT;
    `,
  },
  {
    version: 6,
    // Sweeps (issue 22): a grid of runs, optionally k-fold. sweeps: the grid, the options (folds,
    // fold seed, executor and its Slurm options, the class names the sweep started with) and the
    // state. sweep_folds: each labelled image's fold, dealt once when the sweep starts so that a
    // re-run trains the missing folds on the same split. sweep_runs: the runs of a sweep, each
    // with its fold (k-fold) and kind ('cv': a k-fold configuration's out-of-fold predictions, no
    // model of its own); a table beside runs rather than new runs columns, so this migration only
    // adds tables.
    sql: `
      CREATE TABLE sweeps (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        grid TEXT NOT NULL,
        options TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('running', 'succeeded', 'failed', 'cancelled')),
        created_at TEXT NOT NULL,
        finished_at TEXT
      );
      CREATE TABLE sweep_folds (
        sweep_id INTEGER NOT NULL REFERENCES sweeps(id) ON DELETE CASCADE,
        image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
        fold INTEGER NOT NULL,
        PRIMARY KEY (sweep_id, image_id)
      ) WITHOUT ROWID;
      CREATE TABLE sweep_runs (
        run_id INTEGER PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
        sweep_id INTEGER NOT NULL REFERENCES sweeps(id) ON DELETE CASCADE,
        fold INTEGER,
        kind TEXT NOT NULL DEFAULT 'train' CHECK (kind IN ('train', 'cv'))
      );
      CREATE INDEX sweep_runs_sweep ON sweep_runs(sweep_id);
    `,
  },
  {
    version: 7,
    // Near-duplicates (issue 24): thumbnails reduced from a larger image are blurred less
    // (perceptual-hash.ts THUMB_BLUR). Those made before (32 pixels on the long side) are dropped;
    // the next audit recomputes them in its fingerprint step (media/fingerprints.ts: batches,
    // progress, cancel), not the opening of the project. Images of 32 pixels or less are kept as
    // they were (never blurred); so are the pHashes of the rest, recomputed alike.
    sql: `
      DELETE FROM fingerprints WHERE max(width, height) >= 32;
    `,
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;
