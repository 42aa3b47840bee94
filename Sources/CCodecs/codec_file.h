#ifndef NORMLAB_CODEC_FILE_H
#define NORMLAB_CODEC_FILE_H

#include <stdio.h>
#include "normlab_codecs.h"

// A FILE reading a duplicate of `fd` from its current position, so that closing the FILE
// leaves the caller's descriptor open; NULL with the reason in image->message.
FILE *nl_open_duplicate(int fd, nl_image *image);

#endif
