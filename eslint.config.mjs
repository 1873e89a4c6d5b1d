// ESLint flat config: typescript-eslint's recommended rules plus Pulumi's
// rule that forbids an Output inside a plain template literal (it would render
// as "Calling [toString] on an [Output<T>] is not supported"; use
// pulumi.interpolate or apply). Formatting is Prettier's job (npm run format).
import js from "@eslint/js";
import pulumi from "@pulumi/eslint-plugin";
import tseslint from "typescript-eslint";

export default tseslint.config(
    { ignores: ["node_modules/", "bin/", "bench/out/"] },
    js.configs.recommended,
    {
        files: ["**/*.ts"],
        extends: [tseslint.configs.recommended],
        languageOptions: {
            parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
        },
        plugins: { "@pulumi": pulumi },
        rules: {
            "@pulumi/no-output-in-template-literal": "error",
            "@pulumi/no-output-instance-in-template-literal": "error",
            // tsc's noUnusedLocals/noUnusedParameters already fail the build; `_name` marks an intentional unused.
            "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" }],
        },
    },
    {
        // Tests build deliberately malformed stack configs; `any` is how they reach past the types.
        files: ["test/**/*.ts"],
        rules: { "@typescript-eslint/no-explicit-any": "off" },
    },
    {
        files: ["**/*.mjs", "**/*.js"],
        languageOptions: { globals: { process: "readonly", console: "readonly" } },
    },
    {
        // CommonJS run by plain node (bench/preview-worker.cjs: no tsx, as the Pulumi CLI runs the program).
        files: ["**/*.cjs"],
        languageOptions: {
            sourceType: "commonjs",
            globals: {
                require: "readonly",
                module: "readonly",
                __dirname: "readonly",
                process: "readonly",
                console: "readonly",
                performance: "readonly",
                setImmediate: "readonly",
                globalThis: "readonly",
            },
        },
    },
);
