/**
 * The shared algebra of the convolution gradients, for regular and depthwise convolutions.
 *
 * Filter gradient: dW[ky,kx,ci,co] = sum_{n,oy,ox} x[n, oy*sh + ky*dh - top, ox*sw + kx*dw - left, ci]
 * * dy[n,oy,ox,co]. Read with ci as the batch, n as the channel and (oy,ox) as the filter taps, this
 * is a forward convolution of the transposed input with the transposed output gradient whose stride
 * is the original dilation and whose dilation is the original stride. wasm runs that in XNNPACK.
 *
 * Input gradient: a stride-1 convolution of the padded output gradient with the spatially
 * flipped filter (channels swapped), dilated as the original; strided convolutions go phase by
 * phase (one stride-1 convolution per sub-filter) instead of through zero insertion.
 */
import type { TensorInfo } from '@tensorflow/tfjs';

import { call, free, insertZeros, padOrCropSpatial, reshape, sumLastAxis, transpose, type Backend, type ConvInfo } from './compose.js';

/** Bottom/right padding that the filter-gradient convolution needs to reach every filter tap. */
function tapPadding(size: number, before: number, taps: number, dilation: number, outSize: number, stride: number): number {
  return Math.max(0, (taps - 1) * dilation + (outSize - 1) * stride + 1 - size - before);
}

export function conv2DFilterGrad(backend: Backend, x: TensorInfo, dy: TensorInfo, info: ConvInfo): TensorInfo {
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
  const { top, left } = info.padInfo;
  const [, h, w, ci] = x.shape as [number, number, number, number];
  const co = dy.shape[3] as number;

  if (kh === 1 && kw === 1 && sh === 1 && sw === 1 && top === 0 && left === 0 && info.outHeight === h && info.outWidth === w) {
    // Pointwise conv: dW = X^T dY over all pixels, one GEMM. XNNPACK packs the right operand as
    // weights on every call and wasm's transposeA path is slow, so the smaller of X and dY is the
    // packed one and the larger is transposed explicitly.
    const rows = (x.shape[0] as number) * h * w;
    const x2 = reshape(backend, x, [1, rows, ci]);
    const dy2 = reshape(backend, dy, [1, rows, co]);
    let out: TensorInfo;
    if (ci <= co) {
      const dyT = transpose(backend, dy2, [0, 2, 1]);
      const prod = call(backend, 'BatchMatMul', { a: dyT, b: x2 }, { transposeA: false, transposeB: false }); // [1, Co, Ci]
      const t = transpose(backend, prod, [0, 2, 1]);
      free(backend, dyT, prod);
      out = reshape(backend, t, [1, 1, ci, co]);
      free(backend, t);
    } else {
      const xT = transpose(backend, x2, [0, 2, 1]);
      const prod = call(backend, 'BatchMatMul', { a: xT, b: dy2 }, { transposeA: false, transposeB: false }); // [1, Ci, Co]
      free(backend, xT);
      out = reshape(backend, prod, [1, 1, ci, co]);
      free(backend, prod);
    }
    free(backend, x2, dy2);
    return out;
  }

  const xT = transpose(backend, x, [3, 1, 2, 0]); // [Ci, H, W, N]
  const dyT = transpose(backend, dy, [1, 2, 0, 3]); // [Ho, Wo, N, Co]
  const bottom = tapPadding(h, top, kh, dh, info.outHeight, sh);
  const right = tapPadding(w, left, kw, dw, info.outWidth, sw);
  const conv = call(
    backend,
    'Conv2D',
    { x: xT, filter: dyT },
    {
      strides: [dh, dw],
      dilations: [sh, sw],
      pad: [
        [0, 0],
        [top, bottom],
        [left, right],
        [0, 0],
      ],
      dataFormat: 'NHWC',
    },
  );
  free(backend, xT, dyT);
  let taps = conv; // [Ci, kh', kw', Co] with kh' >= kh
  if (conv.shape[1] !== kh || conv.shape[2] !== kw) {
    taps = call(backend, 'Slice', { x: conv }, { begin: [0, 0, 0, 0], size: [ci, kh, kw, co] });
    free(backend, conv);
  }
  const out = transpose(backend, taps, [1, 2, 0, 3]);
  free(backend, taps);
  return out;
}

/**
 * Depthwise filter gradient: dW[ky,kx,c,m] = sum_{n,oy,ox} x[n, oy*sh + ky*dh - top, ..., c]
 * * dy[n,oy,ox,c*M+m]. The images are stacked vertically, each padded to Hp rows (a multiple of
 * the stride), and dy likewise to Hp/sh rows: then one depthwise convolution of the stacked input
 * with the stacked dy as its filter (stride = the original dilation, dilation = the original
 * stride) sums over the batch as part of its window. No transpose, no reduction afterwards; dy's
 * [.., C*M] layout already is the depthwise filter layout [.., C, M].
 */
export function depthwiseFilterGrad(backend: Backend, x: TensorInfo, dy: TensorInfo, info: ConvInfo): TensorInfo {
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
  const { top, left } = info.padInfo;
  const [n, h, w, c] = x.shape as [number, number, number, number];
  const [, ho, wo, cm] = dy.shape as [number, number, number, number];
  const m = cm / c;
  const bottom = tapPadding(h, top, kh, dh, ho, sh);
  const right = tapPadding(w, left, kw, dw, wo, sw);
  const rowsPerImage = Math.ceil((top + h + bottom) / sh) * sh;
  const dyRowsPerImage = rowsPerImage / sh;
  const wp = left + w + right;

  const xPadded = call(
    backend,
    'PadV2',
    { x },
    {
      paddings: [
        [0, 0],
        [top, rowsPerImage - top - h],
        [left, right],
        [0, 0],
      ],
      constantValue: 0,
    },
  );
  const stacked = reshape(backend, xPadded, [1, n * rowsPerImage, wp, c]);
  free(backend, xPadded);

  const dyPadded =
    dyRowsPerImage > ho
      ? call(
          backend,
          'PadV2',
          { x: dy },
          {
            paddings: [
              [0, 0],
              [0, dyRowsPerImage - ho],
              [0, 0],
              [0, 0],
            ],
            constantValue: 0,
          },
        )
      : dy;
  const dyStacked = reshape(backend, dyPadded, [n * dyRowsPerImage, wo, c, m]);
  if (dyPadded !== dy) free(backend, dyPadded);
  const filterRows = (n - 1) * dyRowsPerImage + ho;
  const filter = filterRows < n * dyRowsPerImage ? call(backend, 'Slice', { x: dyStacked }, { begin: [0, 0, 0, 0], size: [filterRows, wo, c, m] }) : dyStacked;
  if (filter !== dyStacked) free(backend, dyStacked);

  const conv = call(
    backend,
    'DepthwiseConv2dNative',
    { x: stacked, filter },
    {
      strides: [dh, dw],
      dilations: [sh, sw],
      pad: 'valid',
    },
  );
  free(backend, stacked, filter);
  let taps = conv; // [1, kh', kw', C*M] with kh' >= kh
  if (conv.shape[1] !== kh || conv.shape[2] !== kw) {
    taps = call(backend, 'Slice', { x: conv }, { begin: [0, 0, 0, 0], size: [1, kh, kw, cm] });
    free(backend, conv);
  }
  const out = reshape(backend, taps, [kh, kw, c, m]);
  free(backend, taps);
  return out;
}

/** Zero-insert and pad dy so that a stride-1 'valid' conv with the flipped filter gives dx. */
function expandOutputGrad(backend: Backend, dy: TensorInfo, info: ConvInfo): TensorInfo {
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
  const { top, left } = info.padInfo;
  const { inHeight: h, inWidth: w, outHeight: ho, outWidth: wo } = info;
  const spread = insertZeros(backend, dy, sh, sw); // [N, Ho*sh, Wo*sw, C]
  const padTop = (kh - 1) * dh - top;
  const padLeft = (kw - 1) * dw - left;
  // Rows needed: H + (kh-1)*dh in all; the spread tensor holds Ho*sh of them.
  const padBottom = h + (kh - 1) * dh - padTop - ho * sh;
  const padRight = w + (kw - 1) * dw - padLeft - wo * sw;
  const out = padOrCropSpatial(backend, spread, padTop, padBottom, padLeft, padRight);
  if (out !== spread && spread !== dy) free(backend, spread);
  return out;
}

/**
 * Input gradient of a strided, undilated convolution by phases (sub-pixel decomposition): the
 * input rows with (y + top) mod s = p receive dy only through the filter rows p, p+s, p+2s, ...,
 * so each of the s*s phases is a stride-1 convolution of dy with that sub-filter (flipped), and
 * the phases interleave back into dx. Zero insertion multiplies by s*s the work, almost all of it
 * on zeros; this does the same number of multiply-adds as the forward convolution.
 */
function phasedInputGrad(backend: Backend, dy: TensorInfo, filter: TensorInfo, info: ConvInfo, depthwise: boolean): TensorInfo {
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, inHeight: h, inWidth: w } = info;
  const { top, left } = info.padInfo;
  const [n, ho, wo] = dy.shape as [number, number, number, number];
  const [, , fc, fm] = filter.shape as [number, number, number, number];
  const cin = info.inChannels;
  const rowStart = Math.floor(top / sh);
  const rows = Math.floor((top + h - 1) / sh) - rowStart + 1;
  const colStart = Math.floor(left / sw);
  const cols = Math.floor((left + w - 1) / sw) - colStart + 1;

  const phaseRows: TensorInfo[] = [];
  for (let py = 0; py < sh; py++) {
    const phaseCols: TensorInfo[] = [];
    for (let px = 0; px < sw; px++) {
      const jy = py < kh ? Math.ceil((kh - py) / sh) : 0;
      const jx = px < kw ? Math.ceil((kw - px) / sw) : 0;
      if (jy === 0 || jx === 0) {
        phaseCols.push(call(backend, 'Fill', {}, { shape: [n, rows, cols, cin], value: 0, dtype: 'float32' }));
        continue;
      }
      const sub = call(
        backend,
        'StridedSlice',
        { x: filter },
        {
          begin: [py, px, 0, 0],
          end: [kh, kw, fc, fm],
          strides: [sh, sw, 1, 1],
          beginMask: 0,
          endMask: 0,
          ellipsisMask: 0,
          newAxisMask: 0,
          shrinkAxisMask: 0,
        },
      );
      const flipped = call(backend, 'Reverse', { x: sub }, { dims: [0, 1] });
      free(backend, sub);
      // dy rows rowStart - jy + 1 .. rowStart + rows - 1 (zeros outside dy).
      const padded = padOrCropSpatial(backend, dy, jy - 1 - rowStart, rowStart + rows - 1 - (ho - 1), jx - 1 - colStart, colStart + cols - 1 - (wo - 1));
      let phase: TensorInfo;
      if (depthwise) {
        const flat = reshape(backend, flipped, [jy, jx, fc * fm, 1]);
        const perChannel = call(backend, 'DepthwiseConv2dNative', { x: padded, filter: flat }, { strides: [1, 1], dilations: [1, 1], pad: 'valid' });
        free(backend, flat);
        if (fm === 1) {
          phase = perChannel;
        } else {
          const split = reshape(backend, perChannel, [n, rows, cols, fc, fm]);
          free(backend, perChannel);
          phase = sumLastAxis(backend, split);
          free(backend, split);
        }
      } else {
        const swapped = transpose(backend, flipped, [0, 1, 3, 2]);
        phase = call(backend, 'Conv2D', { x: padded, filter: swapped }, { strides: [1, 1], dilations: [1, 1], pad: 'valid', dataFormat: 'NHWC' });
        free(backend, swapped);
      }
      free(backend, flipped);
      if (padded !== dy) free(backend, padded);
      phaseCols.push(phase);
    }
    // [N, rows, cols, sw, Cin]: the column phases interleave. (Pack takes its inputs as an array.)
    phaseRows.push(call(backend, 'Pack', phaseCols as unknown as Record<string, TensorInfo>, { axis: 3 }));
    free(backend, ...phaseCols);
  }
  const all = call(backend, 'Pack', phaseRows as unknown as Record<string, TensorInfo>, { axis: 2 }); // [N, rows, sh, cols, sw, Cin]
  free(backend, ...phaseRows);
  const interleaved = reshape(backend, all, [n, rows * sh, cols * sw, cin]);
  free(backend, all);
  const dx = call(backend, 'Slice', { x: interleaved }, { begin: [0, top - rowStart * sh, left - colStart * sw, 0], size: [n, h, w, cin] });
  free(backend, interleaved);
  return dx;
}

function usePhases(info: ConvInfo): boolean {
  return (info.strideHeight > 1 || info.strideWidth > 1) && info.dilationHeight === 1 && info.dilationWidth === 1;
}

export function conv2DInputGrad(backend: Backend, dy: TensorInfo, filter: TensorInfo, info: ConvInfo): TensorInfo {
  if (usePhases(info)) return phasedInputGrad(backend, dy, filter, info, false);
  const expanded = expandOutputGrad(backend, dy, info);
  const flipped = call(backend, 'Reverse', { x: filter }, { dims: [0, 1] });
  const swapped = transpose(backend, flipped, [0, 1, 3, 2]); // [kh, kw, Co, Ci]
  free(backend, flipped);
  const dx = call(
    backend,
    'Conv2D',
    { x: expanded, filter: swapped },
    {
      strides: [1, 1],
      dilations: [info.dilationHeight, info.dilationWidth],
      pad: 'valid',
      dataFormat: 'NHWC',
    },
  );
  free(backend, swapped);
  if (expanded !== dy) free(backend, expanded);
  return dx;
}

export function depthwiseInputGrad(backend: Backend, dy: TensorInfo, filter: TensorInfo, info: ConvInfo): TensorInfo {
  if (usePhases(info)) return phasedInputGrad(backend, dy, filter, info, true);
  const [kh, kw, c, m] = filter.shape as [number, number, number, number];
  const expanded = expandOutputGrad(backend, dy, info);
  const flipped = call(backend, 'Reverse', { x: filter }, { dims: [0, 1] });
  const flat = reshape(backend, flipped, [kh, kw, c * m, 1]);
  free(backend, flipped);
  const perChannel = call(
    backend,
    'DepthwiseConv2dNative',
    { x: expanded, filter: flat },
    {
      strides: [1, 1],
      dilations: [info.dilationHeight, info.dilationWidth],
      pad: 'valid',
    },
  );
  free(backend, flat);
  if (expanded !== dy) free(backend, expanded);
  if (m === 1) return perChannel;
  const [n, h, w] = perChannel.shape as [number, number, number, number];
  const split = reshape(backend, perChannel, [n, h, w, c, m]);
  free(backend, perChannel);
  const dx = sumLastAxis(backend, split);
  free(backend, split);
  return dx;
}
