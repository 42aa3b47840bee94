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

// 0 on success. Any libjpeg error or warning (corrupt or truncated data) is a failure, with
// the reason in image->message and no memory left allocated. 3: a CMYK JPEG (unsupported).
int nl_jpeg_decode_file(const char *path, nl_image *image);

// 0 on success. The stored samples as they are (no gamma or colour-space conversion, as PIL
// and torchvision read them): palette expanded to RGB, transparency to alpha, gray with alpha
// to RGBA, 16-bit scaled to 8-bit.
int nl_png_decode_file(const char *path, nl_image *image);

void nl_image_free(nl_image *image);
// The libjpeg version this was built against (e.g. 62).
int nl_jpeg_lib_version(void);

#endif
