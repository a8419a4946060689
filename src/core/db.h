/*
 * db.h — the database handle and the catalog of collections and aliases.
 *
 * On-disk layout of a data directory (formats in docs/FORMAT.md):
 *   quiver.lock                   flock'ed while a process has the directory open
 *   aliases.json                  every alias, replaced atomically
 *   collections/<name>/config.json  one collection's config, replaced atomically
 *   collections/<name>/wal.log      its write-ahead log (wal.h)
 *   collections/<name>/points.snap  its last checkpoint (store.h)
 *   tmp/                          staging for creations and deletions; emptied at open
 *
 * A collection appears and disappears with one rename of its directory, so a
 * crash leaves it either complete or absent. Aliases that point to a missing
 * collection (a crash between deleting a collection and rewriting
 * aliases.json) are dropped at open.
 *
 * Threading: `lock` guards the catalog (the collection and alias arrays and
 * every config). Readers take it shared; DDL takes it exclusive and does its
 * file I/O under it (DDL is rare; reads never wait on point writes).
 */
#ifndef QV_CORE_DB_H
#define QV_CORE_DB_H

#include <pthread.h>

#include "core/collection.h"
#include "core/config.h"
#include "quiver.h"


typedef struct qv_alias_entry {
    char *alias;
    char *collection;
} qv_alias_entry;

struct qv_db {
    char            *dir;
    int              lock_fd;
    pthread_rwlock_t lock;
    qv_collection  **colls;     /* sorted by name */
    size_t           n_colls, cap_colls;
    qv_alias_entry  *aliases;   /* sorted by alias */
    size_t           n_aliases;
    unsigned long    tmp_seq;   /* names staging entries in tmp/ */
};

/* Catalog (catalog.c). */
qv_status cat_load(qv_db *db, qv_error *err);
void      cat_free(qv_db *db);
/* Collection by name or alias; NULL if none. Caller holds db->lock. */
qv_collection *cat_resolve(qv_db *db, const char *name);
/* Collection by name or alias with a reference the caller must give back
 * with cat_release; QV_NOT_FOUND (message set) if none. */
qv_status cat_acquire(qv_db *db, const char *name, qv_collection **out, qv_error *err);
void      cat_release(qv_collection *c);
/* Write a collection's config file (config + index definitions) atomically. */
qv_status cat_write_config(const char *dir, const cfg_collection *cfg, const idx_def *defs,
                           uint32_t n_defs, qv_error *err);

#endif
