// Peers: OpenCV.js (WebAssembly, one CPU thread) cv.GaussianBlur with BORDER_REFLECT, which
// is scipy.ndimage's "reflect", so the whole image is compared. Two variants of the same call:
//   opencv-js-f32  CV_32FC4 in and out, the same float32 values every other peer gets;
//   opencv-js-u8   CV_8UC4 in and out, OpenCV's 8-bit path (fixed-point arithmetic), the way
//                  OpenCV.js is usually called on image data; its output is 8-bit.
// opencv.js is loaded as a classic script from the build's assets, only on the peers page.
import OPENCV_URL from "@techstark/opencv-js/dist/opencv.js?url";

let loading = null;

/**
 * The initialised `cv` module (loaded once), wrapped: the module has a then() that calls back
 * with the module itself, so a promise resolved with it would never settle.
 */
function loadOpenCv() {
  loading ??= new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = OPENCV_URL;
    script.onerror = () => reject(new Error(`opencv.js: could not load ${OPENCV_URL}`));
    script.onload = () => {
      const cv = window.cv;
      if (!cv) reject(new Error("opencv.js: the script defined no cv"));
      else if (cv.Mat) resolve({ cv });
      else cv.onRuntimeInitialized = () => resolve({ cv });
    };
    document.head.append(script);
  });
  return loading;
}

export async function openCv({ width, height, u8, f32 }, sigma, radius, depth) {
  const { cv } = await loadOpenCv();
  const float = depth === "f32";
  const type = float ? cv.CV_32FC4 : cv.CV_8UC4;
  const src = new cv.Mat(height, width, type);
  (float ? src.data32F : src.data).set(float ? f32 : u8);
  const dst = new cv.Mat(height, width, type);
  const ksize = new cv.Size(2 * radius + 1, 2 * radius + 1);
  return {
    name: float ? "opencv-js-f32" : "opencv-js-u8",
    label: `OpenCV.js ${cv.getBuildInformation?.().match(/General configuration for OpenCV ([^\s=]+)/)?.[1] ?? ""} `
      + `GaussianBlur ${float ? "CV_32FC4" : "CV_8UC4"}, ksize ${2 * radius + 1}, BORDER_REFLECT`,
    kind: "cpu",
    border: "BORDER_REFLECT = scipy.ndimage \"reflect\", the same as the reference",
    excludeBorder: 0,
    input: float ? "float32 RGBA Mat, filled once" : "8-bit RGBA Mat, filled once",
    output: float ? "float32" : "8-bit",
    /** One blur, then the result copied out of the WebAssembly heap. */
    wall: async () => {
      cv.GaussianBlur(src, dst, ksize, sigma, sigma, cv.BORDER_REFLECT);
      return float ? dst.data32F.slice() : dst.data.slice();
    },
    dispose: () => {
      src.delete();
      dst.delete();
    },
  };
}
