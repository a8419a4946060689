# Writes OUT with the git commit of SRC (40 zeros outside a checkout), and
# only when it changed, so that a build rebuilds what uses it only then.
execute_process(COMMAND git rev-parse HEAD WORKING_DIRECTORY ${SRC}
                OUTPUT_VARIABLE commit OUTPUT_STRIP_TRAILING_WHITESPACE
                ERROR_QUIET RESULT_VARIABLE rc)
if(NOT rc EQUAL 0 OR NOT commit MATCHES "^[0-9a-f]+$")
  set(commit "0000000000000000000000000000000000000000")
endif()
set(text "#define QV_GIT_COMMIT \"${commit}\"\n")
set(old "")
if(EXISTS ${OUT})
  file(READ ${OUT} old)
endif()
if(NOT old STREQUAL text)
  file(WRITE ${OUT} "${text}")
endif()
