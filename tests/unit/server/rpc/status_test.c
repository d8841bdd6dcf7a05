/* The hd_ code -> gRPC status table: every code of the error table has its status. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "server/common/err.h"
#include "server/rpc/status.h"

static void every_hd_code_maps_to_its_grpc_status(void **state)
{
    (void)state;
    static const struct {
        int code;
        grpc_status_code want;
    } table[] = {
        {HD_OK, GRPC_STATUS_OK},
        {HD_EINVAL, GRPC_STATUS_INVALID_ARGUMENT},
        {HD_ENOTFOUND, GRPC_STATUS_NOT_FOUND},
        {HD_EEXIST, GRPC_STATUS_ALREADY_EXISTS},
        {HD_EPERM, GRPC_STATUS_PERMISSION_DENIED},
        {HD_EUNAUTH, GRPC_STATUS_UNAUTHENTICATED},
        {HD_ENOMEM, GRPC_STATUS_INTERNAL},
        {HD_EFULL, GRPC_STATUS_RESOURCE_EXHAUSTED},
        {HD_ESTATE, GRPC_STATUS_FAILED_PRECONDITION},
        {HD_EIO, GRPC_STATUS_INTERNAL},
        {HD_ECORRUPT, GRPC_STATUS_INTERNAL},
        {HD_EVERSION, GRPC_STATUS_INTERNAL},
        {HD_EINTERNAL, GRPC_STATUS_INTERNAL},
        {HD_EUNAVAIL, GRPC_STATUS_UNAVAILABLE},
        {HD_ECANCELED, GRPC_STATUS_CANCELLED},
        {HD_ETIMEDOUT, GRPC_STATUS_DEADLINE_EXCEEDED},
        {HD_EABORTED, GRPC_STATUS_ABORTED},
        {HD_ETOOBIG, GRPC_STATUS_RESOURCE_EXHAUSTED},
        {HD_EUNIMPL, GRPC_STATUS_UNIMPLEMENTED},
    };
    size_t n = sizeof(table) / sizeof(table[0]);
    int listed = 0;
#define HD__COUNT(name, value, msg) listed++;
    HD_ERRNO_MAP(HD__COUNT)
#undef HD__COUNT
    /* A new code in err.h must be added here (and to status.c if not INTERNAL). */
    assert_int_equal(n, (size_t)listed + 1);
    for (size_t i = 0; i < n; i++) {
        print_message("%s\n", hd_errname(table[i].code));
        assert_int_equal(hd_rpc_status_from_err(table[i].code), table[i].want);
        assert_int_equal(hd_rpc_status_is_internal(table[i].code),
                         table[i].want == GRPC_STATUS_INTERNAL);
    }
}

static void unknown_codes_are_internal(void **state)
{
    (void)state;
    assert_int_equal(hd_rpc_status_from_err(-999), GRPC_STATUS_INTERNAL);
    assert_int_equal(hd_rpc_status_from_err(42), GRPC_STATUS_INTERNAL);
}

static void status_names_are_canonical(void **state)
{
    (void)state;
    assert_string_equal(hd_rpc_status_name(GRPC_STATUS_OK), "OK");
    assert_string_equal(hd_rpc_status_name(GRPC_STATUS_NOT_FOUND), "NOT_FOUND");
    assert_string_equal(hd_rpc_status_name(GRPC_STATUS_UNAUTHENTICATED), "UNAUTHENTICATED");
    assert_string_equal(hd_rpc_status_name((grpc_status_code)99), "UNKNOWN_STATUS");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_hd_code_maps_to_its_grpc_status),
        cmocka_unit_test(unknown_codes_are_internal),
        cmocka_unit_test(status_names_are_canonical),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
