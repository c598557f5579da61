package mongostore

// SetBackfillBatch sets the batch size of the email_key backfill of
// s.EnsureIndexes.
func SetBackfillBatch[F any](s *Store[F], n int64) { s.backfillBatch = n }
