/* The serialized FileDescriptorSet of every service helpdeskd offers (with imports),
 * embedded at build time for server reflection. */
#ifndef HD_PROTO_DESCRIPTOR_SET_H
#define HD_PROTO_DESCRIPTOR_SET_H

#include <stddef.h>

/* Static, read-only bytes of google.protobuf.FileDescriptorSet. */
extern const unsigned char hd_descriptor_set[];
/* Length of hd_descriptor_set in bytes. */
extern const size_t hd_descriptor_set_len;

#endif
