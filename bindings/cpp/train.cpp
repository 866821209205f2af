// Train the job in a JSON file through ufm.hpp and print its result.
//
//   c++ -std=c++17 -Wall -Wextra -Werror -pedantic -Iinclude bindings/cpp/train.cpp
//       -Ltarget/release -lufm -Wl,-rpath,$PWD/target/release -o train_cpp   (one line)
//   ./train_cpp examples/jobs/figure1.json [OUT_DIR]
//
// With OUT_DIR, also writes the run folder `ufm run JOB --out OUT_DIR` writes.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "ufm.hpp"

int main(int argc, char **argv) {
    if (argc != 2 && argc != 3) {
        std::cerr << "usage: " << argv[0] << " JOB.json [OUT_DIR]\n";
        return 2;
    }
    try {
        ufm::check_abi();
        std::ifstream in(argv[1]);
        if (!in) {
            std::cerr << "cannot read " << argv[1] << "\n";
            return 1;
        }
        std::stringstream text;
        text << in.rdbuf();
        std::string path = argv[1];
        auto slash = path.rfind('/');
        std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);

        ufm::Trainer trainer(text.str(), dir);
        unsigned long calls = 0;
        ufm_run_status status =
            trainer.run([&](std::uint64_t, std::uint64_t, double) { ++calls; });
        ufm::Result result = trainer.result();
        ufm::Summary s = result.summary();
        std::printf("status %d\n", static_cast<int>(status));
        std::printf("steps %llu\n", static_cast<unsigned long long>(s.steps));
        std::printf("progress_calls %lu\n", calls);
        std::printf("final.loss %.17g\n", s.loss);
        if (argc == 3) {
            result.write(argv[2]);
            std::printf("written %s\n", argv[2]);
        }
        ufm::Matrix means = result.array(UFM_ARRAY_CLASS_MEAN_LOGITS);
        std::printf("class_means %zu x %zu, simplex_cosine %.6f\n", means.rows, means.cols,
                    ufm::simplex_cosine(means.view()));
        // A refused call throws ufm::Error with the status and message.
        try {
            trainer.param(99);
            std::cerr << "expected an error\n";
            return 1;
        } catch (const ufm::Error &e) {
            std::printf("refused %s\n", ufm_status_name(e.status()));
        }
        return 0;
    } catch (const ufm::Error &e) {
        std::cerr << e.what() << "\n";
        return 1;
    }
}
