#ifndef CREDLEDGER_CLMDB_SHIM_H
#define CREDLEDGER_CLMDB_SHIM_H
#include <lmdb.h>
#endif
