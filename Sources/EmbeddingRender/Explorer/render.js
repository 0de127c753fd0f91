"use strict";
// Drawing the points: WebGL when the browser has it, a 2-D canvas otherwise,
// behind one interface, plus the colour maps. Positions are world coordinates;
// a view maps them to CSS pixels: sx = x·s + tx, sy = −y·s + ty.

const Render = (() => {
  // Categorical colours (Tableau 10 and its light companions, reordered so that
  // the first genres get the most distinct hues).
  const CATEGORICAL = [
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f",
    "#bab0ac", "#1f77b4", "#aec7e8", "#98df8a", "#d62728", "#c5b0d5", "#8c564b", "#e377c2", "#17becf",
    "#bcbd22", "#7f7f7f",
  ];

  // Viridis at 9 stops and a blue–grey–red diverging map; colours between stops are interpolated.
  const VIRIDIS = ["#440154", "#472d7b", "#3b528b", "#2c728e", "#21918c", "#28ae80", "#5ec962", "#addc30", "#fde725"];
  const DIVERGING = ["#2166ac", "#4393c3", "#92c5de", "#d1e5f0", "#e0e0e0", "#fddbc7", "#f4a582", "#d6604d", "#b2182b"];

  const hex = (h) => [parseInt(h.slice(1, 3), 16), parseInt(h.slice(3, 5), 16), parseInt(h.slice(5, 7), 16)];
  const VIRIDIS_RGB = VIRIDIS.map(hex), DIVERGING_RGB = DIVERGING.map(hex);

  /** Colour of t ∈ [0, 1] on a map of stops, as [r, g, b]. */
  function ramp(stops, t) {
    if (!(t >= 0)) t = 0;
    if (t > 1) t = 1;
    const x = t * (stops.length - 1), i = Math.min(stops.length - 2, Math.floor(x)), u = x - i;
    const a = stops[i], b = stops[i + 1];
    return [a[0] + (b[0] - a[0]) * u, a[1] + (b[1] - a[1]) * u, a[2] + (b[2] - a[2]) * u];
  }

  const cssColor = (rgb, alpha = 1) => `rgba(${Math.round(rgb[0])},${Math.round(rgb[1])},${Math.round(rgb[2])},${alpha})`;

  const VERTEX = `
    attribute vec2 a_pos;
    attribute vec4 a_color;
    attribute float a_size;
    uniform vec2 u_scale;
    uniform vec2 u_offset;
    uniform float u_pixels;
    varying vec4 v_color;
    varying float v_radius;
    void main() {
      gl_Position = vec4(a_pos * u_scale + u_offset, 0.0, 1.0);
      gl_PointSize = a_size * u_pixels;
      v_color = a_color;
      v_radius = gl_PointSize * 0.5;
    }`;
  const FRAGMENT = `
    precision mediump float;
    varying vec4 v_color;
    varying float v_radius;
    void main() {
      float d = length(gl_PointCoord * 2.0 - 1.0) * v_radius;   // distance from the centre in pixels
      float alpha = clamp(v_radius - d + 0.5, 0.0, 1.0);        // one-pixel antialiased edge
      float rim = clamp(d - (v_radius - 1.25) + 0.5, 0.0, 1.0); // a darker rim separates neighbours
      vec3 rgb = mix(v_color.rgb, v_color.rgb * 0.62, rim * step(2.5, v_radius));
      float a = v_color.a * alpha;
      gl_FragColor = vec4(rgb * a, a);
    }`;

  /** Points drawn by WebGL, in the order given by `order` (last on top). */
  class WebGLPoints {
    constructor(canvas) {
      const options = { antialias: false, premultipliedAlpha: true, alpha: true, preserveDrawingBuffer: false };
      const gl = canvas.getContext("webgl", options);
      if (!gl) throw new Error("no WebGL");
      this.kind = "webgl";
      this.canvas = canvas;
      this.gl = gl;
      const shader = (type, source) => {
        const s = gl.createShader(type);
        gl.shaderSource(s, source);
        gl.compileShader(s);
        if (!gl.getShaderParameter(s, gl.COMPILE_STATUS)) throw new Error(gl.getShaderInfoLog(s));
        return s;
      };
      const program = gl.createProgram();
      gl.attachShader(program, shader(gl.VERTEX_SHADER, VERTEX));
      gl.attachShader(program, shader(gl.FRAGMENT_SHADER, FRAGMENT));
      gl.linkProgram(program);
      if (!gl.getProgramParameter(program, gl.LINK_STATUS)) throw new Error(gl.getProgramInfoLog(program));
      this.program = program;
      this.loc = {
        pos: gl.getAttribLocation(program, "a_pos"), color: gl.getAttribLocation(program, "a_color"),
        size: gl.getAttribLocation(program, "a_size"), scale: gl.getUniformLocation(program, "u_scale"),
        offset: gl.getUniformLocation(program, "u_offset"), pixels: gl.getUniformLocation(program, "u_pixels"),
      };
      this.buffers = { pos: gl.createBuffer(), color: gl.createBuffer(), size: gl.createBuffer() };
      this.count = 0;
      this.order = null;
    }

    /** Sets the draw order (an array of rows); later attributes follow it. */
    setOrder(order) { this.order = order; this.count = order.length; }

    _permuted(values, width, Type) {
      const out = new Type(this.count * width), order = this.order;
      for (let p = 0; p < this.count; p++) {
        const r = order[p];
        for (let c = 0; c < width; c++) out[p * width + c] = values[r * width + c];
      }
      return out;
    }

    setPositions(xy) { this._upload(this.buffers.pos, this._permuted(xy, 2, Float32Array)); }
    setColors(rgba) { this._upload(this.buffers.color, this._permuted(rgba, 4, Uint8Array)); }
    setSizes(sizes) { this._upload(this.buffers.size, this._permuted(sizes, 1, Float32Array)); }

    _upload(buffer, data) {
      const gl = this.gl;
      gl.bindBuffer(gl.ARRAY_BUFFER, buffer);
      gl.bufferData(gl.ARRAY_BUFFER, data, gl.DYNAMIC_DRAW);
    }

    /** Draws every point for view {s, tx, ty} on a canvas of css size w × h at ratio dpr. */
    draw(view, w, h, dpr, pointScale) {
      const gl = this.gl, loc = this.loc;
      gl.viewport(0, 0, gl.drawingBufferWidth, gl.drawingBufferHeight);
      gl.clearColor(0, 0, 0, 0);
      gl.clear(gl.COLOR_BUFFER_BIT);
      if (!this.count) return;
      gl.useProgram(this.program);
      gl.enable(gl.BLEND);
      gl.blendFunc(gl.ONE, gl.ONE_MINUS_SRC_ALPHA);
      gl.uniform2f(loc.scale, (2 * view.s) / w, (2 * view.s) / h);
      gl.uniform2f(loc.offset, (2 * view.tx) / w - 1, 1 - (2 * view.ty) / h);
      gl.uniform1f(loc.pixels, dpr * pointScale);
      gl.bindBuffer(gl.ARRAY_BUFFER, this.buffers.pos);
      gl.enableVertexAttribArray(loc.pos);
      gl.vertexAttribPointer(loc.pos, 2, gl.FLOAT, false, 0, 0);
      gl.bindBuffer(gl.ARRAY_BUFFER, this.buffers.color);
      gl.enableVertexAttribArray(loc.color);
      gl.vertexAttribPointer(loc.color, 4, gl.UNSIGNED_BYTE, true, 0, 0);
      gl.bindBuffer(gl.ARRAY_BUFFER, this.buffers.size);
      gl.enableVertexAttribArray(loc.size);
      gl.vertexAttribPointer(loc.size, 1, gl.FLOAT, false, 0, 0);
      gl.drawArrays(gl.POINTS, 0, this.count);
    }

    /** Waits for the GPU (reads one pixel): for measuring a frame's real cost. */
    finish() { this.gl.readPixels(0, 0, 1, 1, this.gl.RGBA, this.gl.UNSIGNED_BYTE, new Uint8Array(4)); }
  }

  /** The same interface on a 2-D canvas: slower, for browsers without WebGL
   *  and for PNG export. */
  class CanvasPoints {
    constructor(canvas) {
      this.kind = "canvas";
      this.canvas = canvas;
      this.ctx = canvas.getContext("2d");
      this.count = 0;
    }
    setOrder(order) { this.order = order; this.count = order.length; }
    setPositions(xy) { this.xy = xy; }
    setColors(rgba) { this.rgba = rgba; }
    setSizes(sizes) { this.sizes = sizes; }

    finish() {}

    draw(view, w, h, dpr, pointScale) {
      const ctx = this.ctx;
      ctx.setTransform(1, 0, 0, 1, 0, 0);
      ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
      CanvasPoints.paint(ctx, this, view, w, h, dpr, pointScale);
    }

    /** Paints `points` ({order, xy, rgba, sizes}) on ctx, in device pixels. */
    static paint(ctx, points, view, w, h, dpr, pointScale) {
      const { order, xy, rgba, sizes } = points;
      for (let p = 0; p < order.length; p++) {
        const r = order[p];
        const x = (xy[2 * r] * view.s + view.tx) * dpr, y = (-xy[2 * r + 1] * view.s + view.ty) * dpr;
        const radius = (sizes[r] * pointScale * dpr) / 2;
        if (x < -radius || y < -radius || x > w * dpr + radius || y > h * dpr + radius) continue;
        const a = rgba[4 * r + 3] / 255;
        if (a <= 0) continue;
        ctx.fillStyle = `rgba(${rgba[4 * r]},${rgba[4 * r + 1]},${rgba[4 * r + 2]},${a})`;
        ctx.beginPath();
        ctx.arc(x, y, radius, 0, 2 * Math.PI);
        ctx.fill();
      }
    }
  }

  /** The WebGL renderer, or the canvas one when WebGL is missing or `force` says so. */
  function create(canvas, force) {
    if (force !== "canvas") {
      try { return new WebGLPoints(canvas); } catch (e) { /* fall back below */ }
    }
    return new CanvasPoints(canvas);
  }

  return { create, CanvasPoints, CATEGORICAL, VIRIDIS_RGB, DIVERGING_RGB, ramp, hex, cssColor };
})();
