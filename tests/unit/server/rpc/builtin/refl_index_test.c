/* The reflection index over the embedded descriptor set of helpdeskd, and over small
 * hand-built sets for shapes the real set lacks (nested messages, extensions, damage). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "google/protobuf/descriptor.pb-c.h"
#include "proto/descriptor_set.h"
#include "server/rpc/builtin/refl_index.h"
#include "tests/unit/server/rpc/builtin/expected_services.h"

static int setup_real(void **state)
{
    hd_refl_index *idx = NULL;
    hd_err err = {0};
    int rc = hd_refl_index_create(&idx, hd_descriptor_set, hd_descriptor_set_len, &err);
    if (rc != HD_OK)
        print_error("create: %s %s\n", hd_errname(rc), err.detail);
    *state = idx;
    return rc == HD_OK ? 0 : -1;
}

static int teardown_real(void **state)
{
    hd_refl_index_destroy(*state);
    return 0;
}

static const char *file_of(const hd_refl_index *idx, const char *symbol, hd_refl_kind *kind)
{
    size_t f;
    if (hd_refl_index_find_symbol(idx, symbol, &f, kind) != HD_OK)
        return "(not found)";
    return hd_refl_index_file_name(idx, f);
}

static void lists_every_served_service_sorted(void **state)
{
    const hd_refl_index *idx = *state;
    size_t n;
    const char *const *want = expected_services(&n);
    /* The services every helpdeskd serves, whatever else the protos add. */
    static const char *const always[] = {
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
        "helpdesk.v1.AdminService",
        "helpdesk.v1.TicketService",
    };
    assert_true(n >= 5);
    assert_int_equal(hd_refl_index_service_count(idx), n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(hd_refl_index_service(idx, i), want[i]);
    for (size_t a = 0; a < 5; a++) {
        size_t i = 0;
        while (i < n && strcmp(want[i], always[a]) != 0)
            i++;
        assert_true(i < n);
    }
}

static void service_symbol_maps_to_its_file(void **state)
{
    hd_refl_kind kind = HD_REFL_PACKAGE;
    assert_string_equal(file_of(*state, "helpdesk.v1.TicketService", &kind),
                        "helpdesk/v1/tickets.proto");
    assert_int_equal(kind, HD_REFL_SERVICE);
    assert_string_equal(file_of(*state, "grpc.reflection.v1alpha.ServerReflection", NULL),
                        "grpc/reflection/v1alpha/reflection.proto");
}

static void method_symbol_maps_to_its_service_file(void **state)
{
    hd_refl_kind kind = HD_REFL_PACKAGE;
    assert_string_equal(file_of(*state, "helpdesk.v1.TicketService.GetTicket", &kind),
                        "helpdesk/v1/tickets.proto");
    assert_int_equal(kind, HD_REFL_METHOD);
    assert_string_equal(file_of(*state, "grpc.health.v1.Health.Watch", NULL),
                        "grpc/health/v1/health.proto");
}

static void message_field_and_leading_dot_resolve(void **state)
{
    hd_refl_kind kind = HD_REFL_PACKAGE;
    assert_string_equal(file_of(*state, ".helpdesk.v1.Ticket", &kind), "helpdesk/v1/tickets.proto");
    assert_int_equal(kind, HD_REFL_MESSAGE);
    assert_string_equal(file_of(*state, "helpdesk.v1.Ticket.create_time", &kind),
                        "helpdesk/v1/tickets.proto");
    assert_int_equal(kind, HD_REFL_FIELD);
    assert_string_equal(file_of(*state, "google.protobuf.Timestamp", NULL),
                        "google/protobuf/timestamp.proto");
}

static void enum_and_its_values_resolve_to_declaring_file(void **state)
{
    hd_refl_kind kind = HD_REFL_PACKAGE;
    assert_string_equal(file_of(*state, "helpdesk.v1.Priority", &kind), "helpdesk/v1/common.proto");
    assert_int_equal(kind, HD_REFL_ENUM);
    /* Enum values are siblings of their enum, as in C++ protobuf. */
    assert_string_equal(file_of(*state, "helpdesk.v1.PRIORITY_URGENT", &kind),
                        "helpdesk/v1/common.proto");
    assert_int_equal(kind, HD_REFL_ENUM_VALUE);
    assert_string_equal(file_of(*state, "grpc.health.v1.HealthCheckResponse.ServingStatus", &kind),
                        "grpc/health/v1/health.proto");
    assert_int_equal(kind, HD_REFL_ENUM);
    assert_string_equal(file_of(*state, "grpc.health.v1.HealthCheckResponse.SERVING", NULL),
                        "grpc/health/v1/health.proto");
}

static void packages_resolve_to_a_declaring_file(void **state)
{
    hd_refl_kind kind = HD_REFL_MESSAGE;
    const char *f = file_of(*state, "helpdesk.v1", &kind);
    assert_int_equal(kind, HD_REFL_PACKAGE);
    assert_true(strncmp(f, "helpdesk/v1/", 12) == 0);
    file_of(*state, "grpc", &kind);
    assert_int_equal(kind, HD_REFL_PACKAGE);
}

static void unknown_symbol_and_file_are_not_found(void **state)
{
    size_t f = 99;
    assert_int_equal(hd_refl_index_find_symbol(*state, "helpdesk.v1.Nope", &f, NULL), HD_ENOTFOUND);
    assert_int_equal(hd_refl_index_find_symbol(*state, "helpdesk.v1.Ticke", &f, NULL),
                     HD_ENOTFOUND);
    assert_int_equal(hd_refl_index_find_symbol(*state, "", &f, NULL), HD_ENOTFOUND);
    assert_int_equal(hd_refl_index_find_file(*state, "helpdesk/v1/nope.proto", &f), HD_ENOTFOUND);
    assert_int_equal(f, 99);
}

static void closure_of_tickets_lists_it_first_and_each_import_once(void **state)
{
    const hd_refl_index *idx = *state;
    size_t file;
    assert_int_equal(hd_refl_index_find_file(idx, "helpdesk/v1/tickets.proto", &file), HD_OK);
    size_t *out = calloc(hd_refl_index_file_count(idx), sizeof(*out));
    assert_non_null(out);
    size_t n = hd_refl_index_closure(idx, file, out);
    assert_int_equal(n, expected_closure_size("helpdesk/v1/tickets.proto"));
    assert_true(n >= 4);
    assert_string_equal(hd_refl_index_file_name(idx, out[0]), "helpdesk/v1/tickets.proto");
    int timestamp = 0, common = 0, mask = 0;
    for (size_t i = 0; i < n; i++) {
        const char *name = hd_refl_index_file_name(idx, out[i]);
        timestamp += strcmp(name, "google/protobuf/timestamp.proto") == 0;
        common += strcmp(name, "helpdesk/v1/common.proto") == 0;
        mask += strcmp(name, "google/protobuf/field_mask.proto") == 0;
    }
    assert_int_equal(timestamp, 1);
    assert_int_equal(common, 1);
    assert_int_equal(mask, 1);
    free(out);
}

static void closure_of_a_file_without_imports_is_itself(void **state)
{
    size_t file, out[64];
    assert_true(hd_refl_index_file_count(*state) <= 64);
    assert_int_equal(hd_refl_index_find_file(*state, "grpc/health/v1/health.proto", &file), HD_OK);
    assert_int_equal(hd_refl_index_closure(*state, file, out), 1);
    assert_int_equal(out[0], file);
}

/* Each file's bytes must be exactly what protoc wrote: framing them again as field 1 of a
 * FileDescriptorSet gives back the embedded set byte for byte. */
static void file_bytes_are_the_original_serialization(void **state)
{
    const hd_refl_index *idx = *state;
    unsigned char *buf = malloc(hd_descriptor_set_len + 16);
    assert_non_null(buf);
    size_t w = 0;
    for (size_t i = 0; i < hd_refl_index_file_count(idx); i++) {
        size_t len;
        const uint8_t *p = hd_refl_index_file_bytes(idx, i, &len);
        assert_true(w + len + 11 <= hd_descriptor_set_len + 16);
        buf[w++] = 0x0a;
        size_t v = len;
        do {
            buf[w++] = (unsigned char)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
            v >>= 7;
        } while (v);
        memcpy(buf + w, p, len);
        w += len;
    }
    assert_int_equal(w, hd_descriptor_set_len);
    assert_memory_equal(buf, hd_descriptor_set, w);
    free(buf);
}

/* --- hand-built sets ------------------------------------------------------------------ */

/* Packs a set of files; returns malloc'd bytes (caller frees) and their length in *len. */
static uint8_t *pack_set(Google__Protobuf__FileDescriptorProto **files, size_t n, size_t *len)
{
    Google__Protobuf__FileDescriptorSet set = GOOGLE__PROTOBUF__FILE_DESCRIPTOR_SET__INIT;
    set.n_file = n;
    set.file = files;
    *len = google__protobuf__file_descriptor_set__get_packed_size(&set);
    uint8_t *buf = malloc(*len ? *len : 1);
    assert_non_null(buf);
    google__protobuf__file_descriptor_set__pack(&set, buf);
    return buf;
}

static void nested_message_and_extensions_are_indexed(void **state)
{
    (void)state;
    Google__Protobuf__DescriptorProto inner = GOOGLE__PROTOBUF__DESCRIPTOR_PROTO__INIT;
    inner.name = (char *)"Inner";
    Google__Protobuf__DescriptorProto *nested[] = {&inner};
    Google__Protobuf__DescriptorProto outer = GOOGLE__PROTOBUF__DESCRIPTOR_PROTO__INIT;
    outer.name = (char *)"Outer";
    outer.n_nested_type = 1;
    outer.nested_type = nested;
    Google__Protobuf__DescriptorProto *msgs[] = {&outer};
    Google__Protobuf__FileDescriptorProto base = GOOGLE__PROTOBUF__FILE_DESCRIPTOR_PROTO__INIT;
    base.name = (char *)"t/base.proto";
    base.package = (char *)"t";
    base.n_message_type = 1;
    base.message_type = msgs;

    Google__Protobuf__FieldDescriptorProto ext = GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__INIT;
    ext.name = (char *)"note";
    ext.has_number = 1;
    ext.number = 100;
    ext.extendee = (char *)".t.Outer";
    Google__Protobuf__FieldDescriptorProto *exts[] = {&ext};
    char *deps[] = {(char *)"t/base.proto"};
    Google__Protobuf__FileDescriptorProto more = GOOGLE__PROTOBUF__FILE_DESCRIPTOR_PROTO__INIT;
    more.name = (char *)"t/more.proto";
    more.package = (char *)"t.x";
    more.n_dependency = 1;
    more.dependency = deps;
    more.n_extension = 1;
    more.extension = exts;

    Google__Protobuf__FileDescriptorProto *files[] = {&base, &more};
    size_t len;
    uint8_t *set = pack_set(files, 2, &len);
    hd_refl_index *idx = NULL;
    hd_err err = {0};
    assert_int_equal(hd_refl_index_create(&idx, set, len, &err), HD_OK);
    free(set); /* the index keeps its own copy */

    hd_refl_kind kind = HD_REFL_PACKAGE;
    assert_string_equal(file_of(idx, "t.Outer.Inner", &kind), "t/base.proto");
    assert_int_equal(kind, HD_REFL_MESSAGE);
    assert_string_equal(file_of(idx, "t.x.note", &kind), "t/more.proto");
    assert_int_equal(kind, HD_REFL_EXTENSION);
    /* Package "t" is declared by both files: the first one wins. */
    assert_string_equal(file_of(idx, "t", NULL), "t/base.proto");

    size_t f;
    assert_int_equal(hd_refl_index_find_extension(idx, "t.Outer", 100, &f), HD_OK);
    assert_string_equal(hd_refl_index_file_name(idx, f), "t/more.proto");
    assert_int_equal(hd_refl_index_find_extension(idx, "t.Outer", 101, &f), HD_ENOTFOUND);
    int32_t nums[4] = {0};
    assert_int_equal(hd_refl_index_extension_numbers(idx, ".t.Outer", nums, 4), 1);
    assert_int_equal(nums[0], 100);
    assert_int_equal(hd_refl_index_extension_numbers(idx, "t.Outer.Inner", nums, 4), 0);

    size_t out[2];
    assert_int_equal(hd_refl_index_closure(idx, 1, out), 2);
    assert_int_equal(out[0], 1);
    assert_int_equal(out[1], 0);
    assert_int_equal(hd_refl_index_service_count(idx), 0);
    hd_refl_index_destroy(idx);
}

static void missing_dependency_is_corrupt(void **state)
{
    (void)state;
    char *deps[] = {(char *)"absent.proto"};
    Google__Protobuf__FileDescriptorProto f = GOOGLE__PROTOBUF__FILE_DESCRIPTOR_PROTO__INIT;
    f.name = (char *)"a.proto";
    f.n_dependency = 1;
    f.dependency = deps;
    Google__Protobuf__FileDescriptorProto *files[] = {&f};
    size_t len;
    uint8_t *set = pack_set(files, 1, &len);
    hd_refl_index *idx = (hd_refl_index *)files; /* must be reset on failure */
    hd_err err = {0};
    assert_int_equal(hd_refl_index_create(&idx, set, len, &err), HD_ECORRUPT);
    assert_non_null(strstr(err.detail, "absent.proto"));
    assert_null(idx);
    free(set);
}

static void duplicate_file_is_corrupt(void **state)
{
    (void)state;
    Google__Protobuf__FileDescriptorProto f = GOOGLE__PROTOBUF__FILE_DESCRIPTOR_PROTO__INIT;
    f.name = (char *)"a.proto";
    Google__Protobuf__FileDescriptorProto *files[] = {&f, &f};
    size_t len;
    uint8_t *set = pack_set(files, 2, &len);
    hd_refl_index *idx = NULL;
    hd_err err = {0};
    assert_int_equal(hd_refl_index_create(&idx, set, len, &err), HD_ECORRUPT);
    assert_null(idx);
    free(set);
}

static void truncated_set_is_corrupt(void **state)
{
    (void)state;
    hd_refl_index *idx = NULL;
    hd_err err = {0};
    for (size_t cut = 1; cut < 64; cut++) {
        int rc = hd_refl_index_create(&idx, hd_descriptor_set, hd_descriptor_set_len - cut, &err);
        assert_int_equal(rc, HD_ECORRUPT);
        assert_null(idx);
    }
}

static void empty_set_has_no_files(void **state)
{
    (void)state;
    hd_refl_index *idx = NULL;
    hd_err err = {0};
    assert_int_equal(hd_refl_index_create(&idx, "", 0, &err), HD_OK);
    assert_int_equal(hd_refl_index_file_count(idx), 0);
    size_t f;
    assert_int_equal(hd_refl_index_find_symbol(idx, "a", &f, NULL), HD_ENOTFOUND);
    hd_refl_index_destroy(idx);
}

int main(void)
{
    const struct CMUnitTest real[] = {
        cmocka_unit_test(lists_every_served_service_sorted),
        cmocka_unit_test(service_symbol_maps_to_its_file),
        cmocka_unit_test(method_symbol_maps_to_its_service_file),
        cmocka_unit_test(message_field_and_leading_dot_resolve),
        cmocka_unit_test(enum_and_its_values_resolve_to_declaring_file),
        cmocka_unit_test(packages_resolve_to_a_declaring_file),
        cmocka_unit_test(unknown_symbol_and_file_are_not_found),
        cmocka_unit_test(closure_of_tickets_lists_it_first_and_each_import_once),
        cmocka_unit_test(closure_of_a_file_without_imports_is_itself),
        cmocka_unit_test(file_bytes_are_the_original_serialization),
    };
    const struct CMUnitTest built[] = {
        cmocka_unit_test(nested_message_and_extensions_are_indexed),
        cmocka_unit_test(missing_dependency_is_corrupt),
        cmocka_unit_test(duplicate_file_is_corrupt),
        cmocka_unit_test(truncated_set_is_corrupt),
        cmocka_unit_test(empty_set_has_no_files),
    };
    int failed = cmocka_run_group_tests_name("embedded set", real, setup_real, teardown_real);
    failed += cmocka_run_group_tests_name("built sets", built, NULL, NULL);
    return failed ? 1 : 0;
}
