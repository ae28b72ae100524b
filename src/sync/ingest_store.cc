#include "sync/ingest_store.h"

#include "store/postgres.h"
#include "sync/ingest_embedded.h"
#include "sync/ingest_postgres.h"

namespace verge::sync {

Result<std::unique_ptr<IngestStore>> IngestStore::open(const IngestOptions& options) {
  if (options.storage.empty() || options.storage == "embedded") {
    return open_embedded_ingest(options);
  }
  if (store::is_postgres_url(options.storage)) {
    return open_postgres_ingest(options);
  }
  return unexpected(Error{"ingest store: unknown storage '" + options.storage +
                          "' (embedded or postgres://...)"});
}

}  // namespace verge::sync
