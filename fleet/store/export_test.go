package store

// NumMigrations is how many migrations there are: the schema version
// once all are applied.
var NumMigrations = len(migrations)
