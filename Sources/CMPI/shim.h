// Open MPI exposes its handles (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM, ...) as
// macros that expand to addresses of global objects; Swift cannot import
// such macros, so this header turns each one Tessera uses into a function.
#ifndef TESSERA_CMPI_SHIM_H
#define TESSERA_CMPI_SHIM_H
#include <mpi.h>

static inline MPI_Comm tessera_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Comm tessera_mpi_comm_null(void) { return MPI_COMM_NULL; }
static inline MPI_Datatype tessera_mpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype tessera_mpi_int64(void) { return MPI_INT64_T; }
static inline MPI_Datatype tessera_mpi_int32(void) { return MPI_INT32_T; }
static inline MPI_Datatype tessera_mpi_uint16(void) { return MPI_UINT16_T; }
static inline MPI_Datatype tessera_mpi_byte(void) { return MPI_BYTE; }
static inline int tessera_mpi_comm_type_shared(void) { return MPI_COMM_TYPE_SHARED; }
static inline MPI_Info tessera_mpi_info_null(void) { return MPI_INFO_NULL; }
static inline MPI_Op tessera_mpi_sum(void) { return MPI_SUM; }
static inline MPI_Op tessera_mpi_max(void) { return MPI_MAX; }
static inline MPI_Op tessera_mpi_min(void) { return MPI_MIN; }
static inline MPI_Status *tessera_mpi_status_ignore(void) { return MPI_STATUS_IGNORE; }
static inline MPI_Status *tessera_mpi_statuses_ignore(void) { return MPI_STATUSES_IGNORE; }
static inline void *tessera_mpi_in_place(void) { return MPI_IN_PLACE; }
static inline int tessera_mpi_thread_funneled(void) { return MPI_THREAD_FUNNELED; }
static inline int tessera_mpi_thread_serialized(void) { return MPI_THREAD_SERIALIZED; }
static inline int tessera_mpi_thread_multiple(void) { return MPI_THREAD_MULTIPLE; }
static inline int tessera_mpi_errors_return(MPI_Comm comm) {
    return MPI_Comm_set_errhandler(comm, MPI_ERRORS_RETURN);
}
#endif
