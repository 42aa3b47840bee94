#include "normlab_codecs.h"
#include "codec_file.h"

#include <errno.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <png.h>

struct png_failure {
    jmp_buf escape;
    char message[256];
};

static void on_png_error(png_structp png, png_const_charp message) {
    struct png_failure *failure = png_get_error_ptr(png);
    snprintf(failure->message, sizeof failure->message, "%s", message);
    longjmp(failure->escape, 1);
}

static void on_png_warning(png_structp png, png_const_charp message) { (void)png; (void)message; }

int nl_png_decode_fd(int fd, nl_size_check check, void *context, nl_image *image) {
    memset(image, 0, sizeof *image);
    FILE *file = nl_open_duplicate(fd, image);
    if (!file) return NL_UNREADABLE;
    unsigned char signature[8];
    if (fread(signature, 1, 8, file) != 8 || png_sig_cmp(signature, 0, 8) != 0) {
        snprintf(image->message, sizeof image->message, "not a PNG file");
        fclose(file);
        return NL_CORRUPT;
    }
    struct png_failure failure;
    memset(&failure, 0, sizeof failure);
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &failure, on_png_error, on_png_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info) {
        snprintf(image->message, sizeof image->message, "out of memory");
        png_destroy_read_struct(&png, &info, NULL);
        fclose(file);
        return NL_OUT_OF_MEMORY;
    }
    // Assigned before any longjmp can happen, then only changed through these pointers.
    unsigned char *volatile pixels = NULL;
    png_bytep *volatile rows = NULL;
    if (setjmp(failure.escape)) {
        png_destroy_read_struct(&png, &info, NULL);
        fclose(file);
        free(pixels);
        free(rows);
        snprintf(image->message, sizeof image->message, "%s", failure.message);
        return NL_CORRUPT;
    }
    png_init_io(png, file);
    png_set_sig_bytes(png, 8);
    // Refuse absurd sizes before allocating for them (a damaged header can claim anything).
    png_set_user_limits(png, 1 << 15, 1 << 15);
    png_read_info(png, info);
    int color = png_get_color_type(png, info), depth = png_get_bit_depth(png, info);
    int transparent = png_get_valid(png, info, PNG_INFO_tRNS) != 0;
    if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (color == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (transparent) png_set_tRNS_to_alpha(png);
    if (depth == 16) png_set_scale_16(png);
    if (color == PNG_COLOR_TYPE_GRAY_ALPHA || (color == PNG_COLOR_TYPE_GRAY && transparent)) png_set_gray_to_rgb(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    png_uint_32 width = png_get_image_width(png, info), height = png_get_image_height(png, info);
    int channels = png_get_channels(png, info);
    // The size from the header alone: checked before allocating for the pixels.
    if (check && check(context, (int)width, (int)height, channels) != 0) {
        image->width = (int)width;
        image->height = (int)height;
        image->channels = channels;
        png_destroy_read_struct(&png, &info, NULL);
        fclose(file);
        return NL_REFUSED;
    }
    size_t stride = png_get_rowbytes(png, info);
    pixels = malloc(stride * height);
    rows = malloc(sizeof(png_bytep) * height);
    if (!pixels || !rows) png_error(png, "out of memory");
    for (png_uint_32 y = 0; y < height; y++) rows[y] = pixels + stride * y;
    png_read_image(png, rows);
    // Reading to the end detects a file cut short after its pixel data.
    png_read_end(png, NULL);
    image->width = (int)width;
    image->height = (int)height;
    image->channels = channels;
    image->pixels = pixels;
    free(rows);
    png_destroy_read_struct(&png, &info, NULL);
    fclose(file);
    return NL_OK;
}
