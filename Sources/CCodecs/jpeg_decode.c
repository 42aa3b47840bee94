#include "normlab_codecs.h"
#include "codec_file.h"

#include <errno.h>
#include <setjmp.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>

struct error_manager {
    struct jpeg_error_mgr base;
    jmp_buf escape;
    char last_warning[JMSG_LENGTH_MAX];
};

// libjpeg's fatal errors must not return: jump back to the decoder, which cleans up.
static void on_error(j_common_ptr info) {
    struct error_manager *errors = (struct error_manager *)info->err;
    longjmp(errors->escape, 1);
}

// Warnings (premature end of file, corrupt data) are kept, not printed: the caller fails on them.
static void on_message(j_common_ptr info, int level) {
    struct error_manager *errors = (struct error_manager *)info->err;
    if (level < 0) {
        errors->base.num_warnings++;
        errors->base.format_message(info, errors->last_warning);
    }
}

static void silent_output(j_common_ptr info) { (void)info; }

int nl_jpeg_decode_fd(int fd, nl_size_check check, void *context, nl_image *image) {
    memset(image, 0, sizeof *image);
    FILE *file = nl_open_duplicate(fd, image);
    if (!file) return NL_UNREADABLE;
    struct jpeg_decompress_struct info;
    struct error_manager errors;
    memset(&errors, 0, sizeof errors);
    // Assigned before any longjmp can happen, then only changed through this pointer.
    unsigned char *volatile pixels = NULL;

    info.err = jpeg_std_error(&errors.base);
    errors.base.error_exit = on_error;
    errors.base.emit_message = on_message;
    errors.base.output_message = silent_output;
    if (setjmp(errors.escape)) {
        errors.base.format_message((j_common_ptr)&info, image->message);
        jpeg_destroy_decompress(&info);
        fclose(file);
        free(pixels);
        image->pixels = NULL;
        return NL_CORRUPT;
    }
    jpeg_create_decompress(&info);
    jpeg_stdio_src(&info, file);
    jpeg_read_header(&info, TRUE);
    if (info.jpeg_color_space == JCS_CMYK || info.jpeg_color_space == JCS_YCCK) {
        snprintf(image->message, sizeof image->message, "CMYK JPEGs are not supported; convert it to RGB");
        jpeg_destroy_decompress(&info);
        fclose(file);
        return NL_UNSUPPORTED;
    }
    info.out_color_space = info.num_components == 1 ? JCS_GRAYSCALE : JCS_RGB;
    // The output size, from the header alone: checked before libjpeg allocates for the image.
    jpeg_calc_output_dimensions(&info);
    if (check && check(context, (int)info.output_width, (int)info.output_height, info.output_components) != 0) {
        image->width = (int)info.output_width;
        image->height = (int)info.output_height;
        image->channels = info.output_components;
        jpeg_destroy_decompress(&info);
        fclose(file);
        return NL_REFUSED;
    }
    jpeg_start_decompress(&info);
    size_t stride = (size_t)info.output_width * (size_t)info.output_components;
    pixels = malloc(stride * info.output_height);
    if (!pixels) {
        snprintf(image->message, sizeof image->message, "out of memory for %ux%u pixels", info.output_width, info.output_height);
        jpeg_destroy_decompress(&info);
        fclose(file);
        return NL_OUT_OF_MEMORY;
    }
    while (info.output_scanline < info.output_height) {
        JSAMPROW row = pixels + stride * info.output_scanline;
        jpeg_read_scanlines(&info, &row, 1);
    }
    jpeg_finish_decompress(&info);
    int warnings = (int)errors.base.num_warnings;
    image->width = (int)info.output_width;
    image->height = (int)info.output_height;
    image->channels = info.output_components;
    jpeg_destroy_decompress(&info);
    fclose(file);
    if (warnings > 0) {
        // libjpeg fills missing data with grey and carries on; a truncated photo is an error here.
        snprintf(image->message, sizeof image->message, "corrupt or truncated data (%s)", errors.last_warning);
        free(pixels);
        memset(image, 0, offsetof(nl_image, message));
        return NL_TRUNCATED;
    }
    image->pixels = pixels;
    return NL_OK;
}

int nl_jpeg_lib_version(void) { return JPEG_LIB_VERSION; }
