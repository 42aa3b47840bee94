// Image decoding through libjpeg and libpng. Both report fatal errors by longjmp, which Swift
// cannot catch, so each decoder keeps its setjmp inside C and returns an error code and a
// message: a corrupt or truncated file is an error, never a crash or a leak.
#ifndef NORMLAB_CODECS_H
#define NORMLAB_CODECS_H

typedef struct {
    int width;
    int height;
    int channels;              // 1 (gray), 3 (RGB) or 4 (RGBA)
    unsigned char *pixels;     // width * height * channels bytes, row-major; free with nl_image_free
    char message[256];         // why decoding failed
} nl_image;

// Called once the header has been read and before any memory is allocated for pixels, with
// the size the decoded image will have: nonzero refuses it (a forged header can declare
// gigapixels in a few bytes).
typedef int (*nl_size_check)(void *context, int width, int height, int channels);

// Return codes of the decoders.
enum {
    NL_OK = 0,
    NL_UNREADABLE = 1,         // reading the file failed (message: strerror)
    NL_CORRUPT = 2,            // libjpeg or libpng failed on the data
    NL_UNSUPPORTED = 3,        // a CMYK JPEG
    NL_OUT_OF_MEMORY = 4,
    NL_TRUNCATED = 5,          // libjpeg warned (premature end, corrupt data) and filled with grey
    NL_REFUSED = 6,            // the size check refused the declared size (width, height, channels set)
};

// Decode from `fd` (read from its current position; the caller keeps and closes it).
// Any libjpeg error or warning is a failure, with the reason in image->message and no memory
// left allocated.
int nl_jpeg_decode_fd(int fd, nl_size_check check, void *context, nl_image *image);

// The stored samples as they are (no gamma or colour-space conversion, as PIL and torchvision
// read them): palette expanded to RGB, transparency to alpha, gray with alpha to RGBA, 16-bit
// scaled to 8-bit.
int nl_png_decode_fd(int fd, nl_size_check check, void *context, nl_image *image);

void nl_image_free(nl_image *image);
// The libjpeg version this was built against (e.g. 62).
int nl_jpeg_lib_version(void);

#endif
