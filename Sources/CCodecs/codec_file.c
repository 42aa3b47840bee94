#include "codec_file.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

FILE *nl_open_duplicate(int fd, nl_image *image) {
    int copy = dup(fd);
    FILE *file = copy >= 0 ? fdopen(copy, "rb") : NULL;
    if (!file) {
        snprintf(image->message, sizeof image->message, "%s", strerror(errno));
        if (copy >= 0) close(copy);
    }
    return file;
}

void nl_image_free(nl_image *image) {
    free(image->pixels);
    image->pixels = NULL;
}
