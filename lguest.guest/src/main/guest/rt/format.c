/*
 * A small printf: %d %i %u %x %X %p %s %c %%, with the flags '-', '0' and
 * '#', a field width, and 'l' accepted and ignored (everything is 32-bit;
 * there is no 64-bit arithmetic here, so no libgcc helper is needed).
 */
#include "rt.h"

struct out {
    char *buf;
    unsigned int size, len;
};

static void put(struct out *o, char c)
{
    if (o->len + 1 < o->size)
        o->buf[o->len] = c;
    o->len++;
}

static void put_padded(struct out *o, const char *s, unsigned int n, unsigned int width, int left, char pad)
{
    unsigned int fill = width > n ? width - n : 0;
    if (!left)
        while (fill--)
            put(o, pad);
    for (unsigned int i = 0; i < n; i++)
        put(o, s[i]);
    if (left)
        while (fill--)
            put(o, ' ');
}

static void put_number(struct out *o, u32 v, unsigned int base, int upper, int negative, int alt,
                       unsigned int width, int left, int zero)
{
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char tmp[16];
    unsigned int n = 0;
    do {
        tmp[n++] = digits[v % base];
        v /= base;
    } while (v);
    char prefix[3];
    unsigned int p = 0;
    if (negative)
        prefix[p++] = '-';
    if (alt && base == 16) {
        prefix[p++] = '0';
        prefix[p++] = upper ? 'X' : 'x';
    }
    unsigned int total = n + p;
    unsigned int fill = width > total ? width - total : 0;
    if (!left && !zero)
        while (fill) {
            put(o, ' ');
            fill--;
        }
    for (unsigned int i = 0; i < p; i++)
        put(o, prefix[i]);
    if (!left && zero)
        while (fill) {
            put(o, '0');
            fill--;
        }
    while (n)
        put(o, tmp[--n]);
    while (fill) {
        put(o, ' ');
        fill--;
    }
}

int vformat(char *buf, unsigned int size, const char *fmt, __builtin_va_list ap)
{
    struct out o = {buf, size, 0};
    for (const char *f = fmt; *f; f++) {
        if (*f != '%') {
            put(&o, *f);
            continue;
        }
        int left = 0, zero = 0, alt = 0;
        unsigned int width = 0;
        for (f++;; f++) {
            if (*f == '-')
                left = 1;
            else if (*f == '0')
                zero = 1;
            else if (*f == '#')
                alt = 1;
            else
                break;
        }
        while (*f >= '0' && *f <= '9')
            width = width * 10 + (unsigned int)(*f++ - '0');
        while (*f == 'l')
            f++;
        switch (*f) {
        case 'd':
        case 'i': {
            s32 v = __builtin_va_arg(ap, s32);
            u32 mag = v < 0 ? 0u - (u32)v : (u32)v;
            put_number(&o, mag, 10, 0, v < 0, 0, width, left, zero);
            break;
        }
        case 'u':
            put_number(&o, __builtin_va_arg(ap, u32), 10, 0, 0, 0, width, left, zero);
            break;
        case 'x':
        case 'X':
            put_number(&o, __builtin_va_arg(ap, u32), 16, *f == 'X', 0, alt, width, left, zero);
            break;
        case 'p':
            put_number(&o, (u32)__builtin_va_arg(ap, void *), 16, 0, 0, 1, width, left, zero);
            break;
        case 'c': {
            char c = (char)__builtin_va_arg(ap, int);
            put_padded(&o, &c, 1, width, left, ' ');
            break;
        }
        case 's': {
            const char *s = __builtin_va_arg(ap, const char *);
            if (!s)
                s = "(null)";
            put_padded(&o, s, strlen(s), width, left, ' ');
            break;
        }
        case '%':
            put(&o, '%');
            break;
        case 0:
            f--; /* a lone '%' at the end */
            break;
        default:
            put(&o, '%');
            put(&o, *f);
            break;
        }
    }
    if (size)
        buf[o.len < size ? o.len : size - 1] = 0;
    return (int)(o.len < size ? o.len : (size ? size - 1 : 0));
}

int format(char *buf, unsigned int size, const char *fmt, ...)
{
    __builtin_va_list ap;
    __builtin_va_start(ap, fmt);
    int n = vformat(buf, size, fmt, ap);
    __builtin_va_end(ap);
    return n;
}
